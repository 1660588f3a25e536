// Writing a file so that a crash or a failed write never leaves it half-written: the bytes go to a
// temporary file beside it, which is flushed to disk and then renamed over the target in one step.
#pragma once

#include <string>
#include <string_view>

namespace cnnkit {

// Writes `bytes` to `path` atomically: readers see either the old file or the complete new one.
// The temporary file is `path + ".tmp-XXXXXX"` in the same directory (rename is atomic only
// within one file system). On any error the temporary file is removed, the old file at `path` is
// left as it was, and std::runtime_error names the path and the system's reason.
void write_file_atomically(const std::string& path, std::string_view bytes);

}  // namespace cnnkit
