// libFuzzer target for the safetensors reader, and a round trip through the writer: whatever the
// reader accepts, the writer must write and the reader read back to the very same bytes.
// Rejections (std::invalid_argument, std::runtime_error) are expected; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>

#include "cnnkit/io/safetensors.hpp"

namespace {

std::span<const unsigned char> as_bytes(const std::string& text) {
  return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

template <typename T>
void round_trip(std::span<const unsigned char> bytes) {
  cnnkit::SafetensorsFile<T> file;
  try {
    file = cnnkit::parse_safetensors<T>(bytes, "fuzz.safetensors");
  } catch (const std::invalid_argument&) {
    return;
  } catch (const std::runtime_error&) {
    return;
  }
  // Accepted: the writer must take it, and write a file that reads back identically.
  const std::string written = cnnkit::serialize_safetensors(file.tensors, file.metadata);
  const cnnkit::SafetensorsFile<T> again =
      cnnkit::parse_safetensors<T>(as_bytes(written), "written");
  if (cnnkit::serialize_safetensors(again.tensors, again.metadata) != written) std::abort();
  for (const auto& named : file.tensors) (void)again.at(named.name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const unsigned char> bytes(data, size);
  round_trip<float>(bytes);
  round_trip<double>(bytes);
  return 0;
}
