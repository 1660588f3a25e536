// Reading a whole file into memory, with the one error message every loader uses for a file that
// is missing or unreadable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cnnkit::detail {

// The file's bytes. Throws std::runtime_error "<component>: expected a readable file at '<path>',
// got <the system's reason>" followed by `hint` (e.g. which package provides the file).
std::vector<unsigned char> read_file_bytes(const std::string& path, std::string_view component,
                                           std::string_view hint = {});

}  // namespace cnnkit::detail
