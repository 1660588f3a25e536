// gzip decompression in memory (zlib), for data files that may come compressed (IDX .gz).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cnnkit::detail {

// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(std::span<const unsigned char> bytes);

// The decompressed bytes of a gzip stream (several concatenated members are joined, as gunzip
// does). Corrupt or truncated data throws std::invalid_argument naming the component, the source
// and the compressed byte offset where zlib stopped. Inflating stops as soon as the output would
// pass max_bytes: std::invalid_argument "<component>: '<source>': expected at most <max_bytes>
// decompressed bytes<why>, got more", so that a small file never inflates to gigabytes.
std::vector<unsigned char> gunzip(std::span<const unsigned char> bytes, std::string_view component,
                                  const std::string& source, std::uint64_t max_bytes,
                                  std::string_view why);

// The first `count` decompressed bytes (fewer when the stream is shorter), without inflating the
// rest: enough to read a header that says how long the whole should be.
std::vector<unsigned char> gunzip_prefix(std::span<const unsigned char> bytes,
                                         std::string_view component, const std::string& source,
                                         std::size_t count);

}  // namespace cnnkit::detail
