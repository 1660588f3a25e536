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

namespace {

// Inflates up to max_bytes of output; `stop` says what happens there: return what came (a prefix),
// or look one byte further and throw when the stream goes on.
std::vector<unsigned char> inflate_up_to(std::span<const unsigned char> bytes,
                                         std::string_view component, const std::string& source,
                                         std::uint64_t max_bytes, bool stop, std::string_view why) {
  const auto fail = [&](std::size_t offset, const std::string& got) {
    throw std::invalid_argument(std::string(component) + ": '" + source + "' byte " +
                                std::to_string(offset) + ": expected intact gzip data, got " + got);
  };

  InflateStream inflater;
  z_stream& stream = inflater.get();
  std::vector<unsigned char> output;
  std::size_t consumed = 0;  // compressed bytes zlib has taken so far
  constexpr std::size_t kChunk = 1 << 16;
  // With `stop` false one byte past the limit is room enough to see that the stream goes on.
  const std::uint64_t room = stop ? max_bytes : max_bytes + 1;
  for (;;) {
    if (output.size() >= room) {
      if (stop) return output;
      throw std::invalid_argument(std::string(component) + ": '" + source + "': expected at most " +
                                  std::to_string(max_bytes) + " decompressed bytes" +
                                  std::string(why) + ", got more");
    }
    // avail_in is 32-bit: feed at most UINT_MAX bytes at a time.
    const std::size_t feed = std::min<std::size_t>(bytes.size() - consumed, UINT_MAX);
    stream.next_in = const_cast<Bytef*>(bytes.data() + consumed);  // zlib never writes input
    stream.avail_in = static_cast<uInt>(feed);
    const std::size_t old_size = output.size();
    const auto chunk = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, room - old_size));
    output.resize(old_size + chunk);
    stream.next_out = output.data() + old_size;
    stream.avail_out = static_cast<uInt>(chunk);
    const int status = inflate(&stream, Z_NO_FLUSH);
    output.resize(old_size + chunk - stream.avail_out);
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

}  // namespace

std::vector<unsigned char> gunzip(std::span<const unsigned char> bytes, std::string_view component,
                                  const std::string& source, std::uint64_t max_bytes,
                                  std::string_view why) {
  return inflate_up_to(bytes, component, source, max_bytes, false, why);
}

std::vector<unsigned char> gunzip_prefix(std::span<const unsigned char> bytes,
                                         std::string_view component, const std::string& source,
                                         std::size_t count) {
  return inflate_up_to(bytes, component, source, count, true, {});
}

}  // namespace cnnkit::detail
