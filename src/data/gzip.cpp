#include "data/gzip.hpp"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

namespace cnnkit::detail {
namespace {

// Owns a zlib inflate stream (inflateEnd on every path out).
class InflateStream {
 public:
  InflateStream() {
    // 15 + 16: the largest window, and expect a gzip header and trailer (CRC-32 and size checked).
    if (inflateInit2(&stream_, 15 + 16) != Z_OK)
      throw std::runtime_error("zlib: inflateInit2 failed");
  }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
  ~InflateStream() { inflateEnd(&stream_); }
  z_stream& get() { return stream_; }

 private:
  z_stream stream_{};
};

}  // namespace

bool is_gzip(std::span<const unsigned char> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<unsigned char> gunzip(std::span<const unsigned char> bytes, std::string_view component,
                                  const std::string& source) {
  const auto fail = [&](std::size_t offset, const std::string& got) {
    throw std::invalid_argument(std::string(component) + ": '" + source + "' byte " +
                                std::to_string(offset) + ": expected intact gzip data, got " + got);
  };

  InflateStream inflater;
  z_stream& stream = inflater.get();
  std::vector<unsigned char> output;
  std::size_t consumed = 0;  // compressed bytes zlib has taken so far
  constexpr std::size_t kChunk = 1 << 16;
  for (;;) {
    // avail_in is 32-bit: feed at most UINT_MAX bytes at a time.
    const std::size_t feed = std::min<std::size_t>(bytes.size() - consumed, UINT_MAX);
    stream.next_in = const_cast<Bytef*>(bytes.data() + consumed);  // zlib never writes input
    stream.avail_in = static_cast<uInt>(feed);
    const std::size_t old_size = output.size();
    output.resize(old_size + kChunk);
    stream.next_out = output.data() + old_size;
    stream.avail_out = static_cast<uInt>(kChunk);
    const int status = inflate(&stream, Z_NO_FLUSH);
    output.resize(old_size + kChunk - stream.avail_out);
    consumed += feed - stream.avail_in;

    if (status == Z_STREAM_END) {
      if (consumed == bytes.size()) return output;
      // Another gzip member may follow (files made with `cat a.gz b.gz`).
      if (!is_gzip(bytes.subspan(consumed))) {
        fail(consumed,
             std::to_string(bytes.size() - consumed) + " trailing bytes after the stream");
      }
      inflateReset(&stream);
      continue;
    }
    if (status == Z_BUF_ERROR) {  // no progress was possible
      fail(consumed, consumed == bytes.size()
                         ? "the end of the file inside the compressed stream (truncated)"
                         : "a stream zlib cannot continue");
    }
    if (status != Z_OK) {
      fail(consumed, stream.msg != nullptr ? stream.msg : "zlib error " + std::to_string(status));
    }
  }
}

}  // namespace cnnkit::detail
