// Image augmentation for training data, applied on the fly to each sample of a training batch
// (BatchIterator::set_augmentation): a random crop after zero padding, then a horizontal flip,
// as torchvision's RandomCrop(size, padding) followed by RandomHorizontalFlip(p).
//
// Each sample's draws are keyed by (seed, epoch, the sample's index in the data set)
// (keyed_random.hpp): a sample gets the same crop and flip in an epoch whatever batch it falls
// in, whatever the batch size, thread count or process that computes it, and a new one in the
// next epoch. Evaluation never augments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cnnkit/tensor.hpp"

namespace cnnkit {

struct Augmentation {
  // Random crop: pad every side of each (C, H, W) sample with `crop_padding` zeros and cut an
  // H x W window at a uniformly drawn offset (0: no crop). The window is the sample's own size,
  // since the model and the evaluation see samples of that size; crop_height and crop_width, when
  // set (above 0), must say the same.
  std::size_t crop_padding = 0;
  std::size_t crop_height = 0;
  std::size_t crop_width = 0;
  // Horizontal flip (the last axis reversed) with this probability, in [0, 1].
  double flip_probability = 0.0;

  bool enabled() const { return crop_padding > 0 || flip_probability > 0.0; }
  bool operator==(const Augmentation&) const = default;
};

// Throws std::invalid_argument naming the option ("augmentation crop: ...") unless the
// augmentation fits samples of this shape (no batch axis): a flip probability in [0, 1]; a crop
// or flip only for (C, H, W) samples; a crop window no larger than the padded sample and equal to
// the sample's H x W.
void validate(const Augmentation& augmentation, const Shape& sample_shape);

// What one sample gets: the crop window's offset into the padded sample (each in
// [0, 2 * padding]) and whether it is flipped.
struct AugmentDraw {
  std::size_t offset_y = 0;
  std::size_t offset_x = 0;
  bool flip = false;
  bool operator==(const AugmentDraw&) const = default;
};

// The window [offset_y, offset_y + H) x [offset_x, offset_x + W) of the (C, H, W) sample
// `input` padded with `padding` zeros on every side, flipped horizontally when draw.flip; written
// to `output` (C x H x W values, not overlapping `input`).
template <typename T>
void crop_and_flip(const T* input, T* output, const Shape& sample_shape, std::size_t padding,
                   const AugmentDraw& draw);

// Augments samples of one shape with the draws of one run.
template <typename T>
class Augmenter {
 public:
  // Validates the augmentation for the shape (see validate above).
  Augmenter(const Augmentation& augmentation, const Shape& sample_shape, std::uint64_t seed);

  // The draws of data-set sample `index` in `epoch` (crop offsets and flip from two streams, so
  // turning the flip on does not change the crops).
  AugmentDraw draw(std::uint64_t epoch, std::uint64_t index) const;
  // Augments one sample (the sample shape's element count at `sample`) in place.
  void apply(T* sample, std::uint64_t epoch, std::uint64_t index);

  const Augmentation& augmentation() const { return augmentation_; }

 private:
  Augmentation augmentation_;
  Shape sample_shape_;
  std::uint64_t seed_;
  std::vector<T> scratch_;  // the sample before augmentation, sized once
};

extern template class Augmenter<float>;
extern template class Augmenter<double>;

}  // namespace cnnkit
