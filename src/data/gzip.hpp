// gzip decompression in memory (zlib), for data files that may come compressed (IDX .gz).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cnnkit::detail {

// True when the bytes start with the gzip magic 1f 8b.
bool is_gzip(std::span<const unsigned char> bytes);

// The decompressed bytes of a gzip stream (several concatenated members are joined, as gunzip
// does). Corrupt or truncated data throws std::invalid_argument naming the component, the source
// and the compressed byte offset where zlib stopped.
std::vector<unsigned char> gunzip(std::span<const unsigned char> bytes, std::string_view component,
                                  const std::string& source);

}  // namespace cnnkit::detail
