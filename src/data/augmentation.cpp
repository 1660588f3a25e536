// Augmentation of augmentation.hpp: random crop of the zero-padded sample, then horizontal flip.
//   output[c][y][x] = padded[c][offset_y + y][offset_x + x'],  x' = flip ? W - 1 - x : x
//   padded[c][i][j] = input[c][i - P][j - P] inside the sample, 0 in the padding.
#include "cnnkit/data/augmentation.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "check.hpp"
#include "cnnkit/keyed_random.hpp"

namespace cnnkit {

void validate(const Augmentation& augmentation, const Shape& sample_shape) {
  const double flip = augmentation.flip_probability;
  detail::require(std::isfinite(flip) && flip >= 0.0 && flip <= 1.0, "augmentation flip",
                  "a probability in [0, 1]", detail::format_number(flip));
  if (!augmentation.enabled()) return;
  const char* const component =
      augmentation.crop_padding > 0 ? "augmentation crop" : "augmentation flip";
  detail::require(sample_shape.size() == 3, component, "image samples (channels, height, width)",
                  sample_shape);
  if (augmentation.crop_padding == 0) return;
  const std::size_t padding = augmentation.crop_padding;
  constexpr std::size_t kMaxPadding = std::size_t{1} << 20;
  detail::require(padding <= kMaxPadding, "augmentation crop",
                  "a padding of at most " + std::to_string(kMaxPadding), std::to_string(padding));
  const std::size_t height = sample_shape[1];
  const std::size_t width = sample_shape[2];
  const std::size_t crop_height = augmentation.crop_height > 0 ? augmentation.crop_height : height;
  const std::size_t crop_width = augmentation.crop_width > 0 ? augmentation.crop_width : width;
  const std::string crop = std::to_string(crop_height) + "x" + std::to_string(crop_width);
  detail::require(
      crop_height <= height + 2 * padding && crop_width <= width + 2 * padding, "augmentation crop",
      "a crop no larger than the padded image " + std::to_string(height + 2 * padding) + "x" +
          std::to_string(width + 2 * padding) + " (padding " + std::to_string(padding) + ")",
      crop);
  detail::require(crop_height == height && crop_width == width, "augmentation crop",
                  "a crop of the samples' own size " + std::to_string(height) + "x" +
                      std::to_string(width) + " (evaluation sees whole samples)",
                  crop);
}

template <typename T>
void crop_and_flip(const T* input, T* output, const Shape& sample_shape, std::size_t padding,
                   const AugmentDraw& draw) {
  const std::size_t channels = sample_shape[0];
  const std::size_t height = sample_shape[1];
  const std::size_t width = sample_shape[2];
  for (std::size_t c = 0; c < channels; ++c) {
    const T* plane = input + c * height * width;
    T* out = output + c * height * width;
    for (std::size_t y = 0; y < height; ++y) {
      // Row offset_y + y of the padded plane is input row offset_y + y - P, if that is one.
      const std::size_t padded_row = draw.offset_y + y;
      const bool row_inside = padded_row >= padding && padded_row - padding < height;
      for (std::size_t x = 0; x < width; ++x) {
        const std::size_t padded_column = draw.offset_x + (draw.flip ? width - 1 - x : x);
        const bool inside =
            row_inside && padded_column >= padding && padded_column - padding < width;
        out[y * width + x] =
            inside ? plane[(padded_row - padding) * width + (padded_column - padding)] : T(0);
      }
    }
  }
}

template <typename T>
Augmenter<T>::Augmenter(const Augmentation& augmentation, const Shape& sample_shape,
                        std::uint64_t seed)
    : augmentation_(augmentation), sample_shape_(sample_shape), seed_(seed) {
  validate(augmentation, sample_shape);
  if (augmentation.enabled()) scratch_.resize(element_count(sample_shape));
}

template <typename T>
AugmentDraw Augmenter<T>::draw(std::uint64_t epoch, std::uint64_t index) const {
  AugmentDraw result;
  const std::size_t padding = augmentation_.crop_padding;
  if (padding > 0) {
    KeyedRandom crop({seed_, epoch, index, random_stream::kAugmentCrop});
    const auto offsets = static_cast<std::uint32_t>(2 * padding + 1);
    result.offset_y = crop.below(offsets);
    result.offset_x = crop.below(offsets);
  }
  if (augmentation_.flip_probability > 0.0) {
    KeyedRandom flip({seed_, epoch, index, random_stream::kAugmentFlip});
    result.flip = flip.bernoulli(augmentation_.flip_probability);
  }
  return result;
}

template <typename T>
void Augmenter<T>::apply(T* sample, std::uint64_t epoch, std::uint64_t index) {
  if (!augmentation_.enabled()) return;
  const AugmentDraw drawn = draw(epoch, index);
  if (drawn == AugmentDraw{augmentation_.crop_padding, augmentation_.crop_padding, false}) {
    return;  // the centre window, unflipped: the sample itself
  }
  std::copy_n(sample, scratch_.size(), scratch_.data());
  crop_and_flip(scratch_.data(), sample, sample_shape_, augmentation_.crop_padding, drawn);
}

template void crop_and_flip<float>(const float*, float*, const Shape&, std::size_t,
                                   const AugmentDraw&);
template void crop_and_flip<double>(const double*, double*, const Shape&, std::size_t,
                                    const AugmentDraw&);
template class Augmenter<float>;
template class Augmenter<double>;

}  // namespace cnnkit
