// libFuzzer target for the image reader: decode_image on arbitrary bytes (PNG, JPEG, BMP, GIF,
// TGA, PNM through stb_image) into a shape chosen by the first byte, with the pixel limit lowered
// so that one input decodes at most about a MB. Rejections (std::invalid_argument) are expected; a
// crash, a sanitizer report, another exception or a result of another shape or outside [0, 1] is a
// finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>

#include "cnnkit/data/image_folder.hpp"
#include "cnnkit/limits.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  cnnkit::Limits limits;
  limits.image_pixels = 1 << 18;
  // Bit 0: grey or RGB; bits 1-3 and 4-7: the height and width, 1 to 8 and 1 to 16.
  const cnnkit::Shape shape{(data[0] & 1) != 0 ? 3u : 1u, 1u + ((data[0] >> 1) & 7u),
                            1u + (data[0] >> 4)};
  try {
    const cnnkit::Tensor<float> image =
        cnnkit::decode_image<float>(std::span(data + 1, size - 1), "fuzz", shape, limits);
    if (image.shape() != shape) std::abort();
    for (const float value : image) {
      if (!(value >= 0.0f && value <= 1.0f)) std::abort();
    }
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
