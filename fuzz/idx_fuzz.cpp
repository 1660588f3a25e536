// libFuzzer target for the IDX reader: parse_idx on arbitrary bytes (plain or gzip), and the
// dataset built from two parsed arrays. Rejections (std::invalid_argument, std::runtime_error) are
// expected; a crash, a sanitizer report, another exception or a broken invariant is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <stdexcept>

#include "cnnkit/data/idx.hpp"

namespace {

std::size_t product(const std::vector<std::size_t>& dims) {
  std::size_t count = 1;
  for (const std::size_t dim : dims) count *= dim;
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const unsigned char> bytes(data, size);
  try {
    const cnnkit::IdxArray array = cnnkit::parse_idx(bytes, "fuzz");
    if (array.bytes.size() != product(array.dims)) std::abort();
  } catch (const std::invalid_argument&) {
  } catch (const std::runtime_error&) {
  }

  // Split the input in two at a position given by its first byte: images and labels.
  if (size < 1) return 0;
  const std::size_t split = 1 + std::min<std::size_t>(data[0] * 4u, size - 1);
  try {
    const cnnkit::IdxArray images = cnnkit::parse_idx(bytes.subspan(1, split - 1), "images");
    const cnnkit::IdxArray labels = cnnkit::parse_idx(bytes.subspan(split), "labels");
    const cnnkit::Dataset<float> dataset =
        cnnkit::make_idx_dataset<float>(images, labels, {}, "images", "labels");
    for (const std::size_t label : dataset.labels) {
      if (label >= dataset.class_names.size()) std::abort();
    }
    if (dataset.inputs.size() != images.bytes.size()) std::abort();
  } catch (const std::invalid_argument&) {
  } catch (const std::runtime_error&) {
  }
  return 0;
}
