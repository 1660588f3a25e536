// Reading a whole file into memory, with the one error message every loader uses for a file that
// is missing or unreadable, and the file size limit checked before anything is read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cnnkit::detail {

// The file's bytes. Throws std::runtime_error "<component>: expected a readable file at '<path>',
// got <the system's reason>" followed by `hint` (e.g. which package provides the file).
// A file of more than max_bytes throws std::invalid_argument naming CNNKIT_MAX_FILE_BYTES: a
// regular file is judged by its size before reading, a pipe is read up to the limit. A character
// device (/dev/zero, a terminal) is refused outright: it is never a data file and may never end.
std::vector<unsigned char> read_file_bytes(const std::string& path, std::string_view component,
                                           std::uint64_t max_bytes, std::string_view hint = {});

// "<component>: '<source>': expected at most <limit> bytes (limit CNNKIT_MAX_FILE_BYTES: ...),
// got <got>": the refusal of a file or a decompressed stream that is too large.
[[noreturn]] void fail_file_size(std::string_view component, const std::string& source,
                                 std::uint64_t limit, const std::string& got);

}  // namespace cnnkit::detail
