// Augmentation and normalisation of training data: worked crops and flips of small images, the
// draws keyed by (seed, epoch, sample index) whatever the batch, the flip rate, evaluation left
// alone, and one message per bad option.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/data/augmentation.hpp"
#include "cnnkit/data/dataset.hpp"
#include "cnnkit/data/normalization.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {
namespace {

// The 3x3 image 1 2 3 / 4 5 6 / 7 8 9 (one channel) cut by crop_and_flip.
std::vector<float> cut(std::size_t offset_y, std::size_t offset_x, bool flip) {
  const std::vector<float> image{1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> out(9, -1.0f);
  crop_and_flip(image.data(), out.data(), Shape{1, 3, 3}, 1, AugmentDraw{offset_y, offset_x, flip});
  return out;
}

// Padded with one zero on every side, the image is 5x5; the window at (offset_y, offset_x) shows
// padded rows offset_y .. offset_y + 2, which are image rows offset_y - 1 .. offset_y + 1 where
// those exist (and the same for columns).
TEST(Augmentation, CropsThePaddedImageAtTheOffset) {
  EXPECT_EQ(cut(1, 1, false), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}));  // the centre
  EXPECT_EQ(cut(0, 0, false), (std::vector<float>{0, 0, 0, 0, 1, 2, 0, 4, 5}));
  EXPECT_EQ(cut(2, 1, false), (std::vector<float>{4, 5, 6, 7, 8, 9, 0, 0, 0}));
  EXPECT_EQ(cut(2, 2, false), (std::vector<float>{5, 6, 0, 8, 9, 0, 0, 0, 0}));
}

TEST(Augmentation, FlipsTheCropHorizontally) {
  EXPECT_EQ(cut(1, 1, true), (std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7}));
  // The window at (0, 2) is 0 0 0 / 2 3 0 / 5 6 0, mirrored.
  EXPECT_EQ(cut(0, 2, true), (std::vector<float>{0, 0, 0, 0, 3, 2, 0, 6, 5}));
}

TEST(Augmentation, EveryChannelGetsTheSameWindow) {
  // Two channels of 2x3: 0..5 and 10..15, padding 2, window at (3, 1), flipped.
  std::vector<double> image{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15};
  std::vector<double> out(12);
  crop_and_flip(image.data(), out.data(), Shape{2, 2, 3}, 2, AugmentDraw{3, 1, true});
  // Padded rows 3, 4 are image row 1 and padding; padded columns 1..3 are padding and image
  // columns 0 and 1, mirrored: image column 1, image column 0, padding.
  EXPECT_EQ(out, (std::vector<double>{4, 3, 0, 0, 0, 0, 14, 13, 0, 0, 0, 0}));
}

TEST(Augmentation, DrawsAreKeyedAndCoverEveryOffset) {
  const Augmentation options{.crop_padding = 2, .flip_probability = 0.5};
  const Augmenter<float> augmenter(options, Shape{1, 6, 6}, 123);
  std::set<std::size_t> offsets_y;
  std::set<std::size_t> offsets_x;
  for (std::uint64_t index = 0; index < 500; ++index) {
    const AugmentDraw draw = augmenter.draw(1, index);
    ASSERT_LE(draw.offset_y, 4u);
    ASSERT_LE(draw.offset_x, 4u);
    offsets_y.insert(draw.offset_y);
    offsets_x.insert(draw.offset_x);
    ASSERT_EQ(augmenter.draw(1, index), draw);  // a pure function of the key
  }
  EXPECT_EQ(offsets_y.size(), 5u);
  EXPECT_EQ(offsets_x.size(), 5u);
  // Another epoch or seed draws other crops.
  const Augmenter<float> other_seed(options, Shape{1, 6, 6}, 124);
  std::size_t same_epoch = 0;
  std::size_t same_seed = 0;
  for (std::uint64_t index = 0; index < 100; ++index) {
    same_epoch += augmenter.draw(2, index) == augmenter.draw(1, index) ? 1 : 0;
    same_seed += other_seed.draw(1, index) == augmenter.draw(1, index) ? 1 : 0;
  }
  // 50 draws of 25 x 2 outcomes: about 2 coincide by chance.
  EXPECT_LT(same_epoch, 12u);
  EXPECT_LT(same_seed, 12u);
  // Turning the flip off leaves the crops as they were.
  const Augmenter<float> crop_only({.crop_padding = 2}, Shape{1, 6, 6}, 123);
  for (std::uint64_t index = 0; index < 50; ++index) {
    const AugmentDraw with_flip = augmenter.draw(1, index);
    EXPECT_EQ(crop_only.draw(1, index),
              (AugmentDraw{with_flip.offset_y, with_flip.offset_x, false}));
  }
}

// Flip with probability 1/2: Binomial(10000, 1/2) is 5000 +- 50.
TEST(Augmentation, FlipsAboutHalfTheSamples) {
  const Augmenter<float> augmenter({.flip_probability = 0.5}, Shape{1, 4, 4}, 5);
  std::size_t flipped = 0;
  for (std::uint64_t index = 0; index < 10000; ++index) {
    flipped += augmenter.draw(3, index).flip ? 1 : 0;
  }
  EXPECT_NEAR(static_cast<double>(flipped), 5000.0, 250.0);
}

// A dataset of 10 samples (1, 3, 4), sample i holding 100 i + 0..11.
Dataset<float> numbered_samples() {
  Dataset<float> dataset{Tensor<float>({10, 1, 3, 4}), std::vector<std::size_t>(10, 0), {"a"}};
  for (std::size_t i = 0; i < dataset.inputs.size(); ++i) {
    dataset.inputs[i] = static_cast<float>(100 * (i / 12) + i % 12);
  }
  return dataset;
}

// Each augmented sample of every batch, by its index in the dataset.
std::vector<std::vector<float>> augmented_by_index(const Dataset<float>& dataset,
                                                   std::size_t batch_size,
                                                   const Augmentation& options,
                                                   std::size_t first_epoch) {
  BatchIterator<float> batches(dataset, batch_size);
  batches.set_augmentation(options, 99, first_epoch);
  std::vector<std::vector<float>> by_index(dataset.size());
  for (std::size_t b = 0; b < batches.batches_per_epoch(); ++b) {
    const Batch<float> batch = batches.next();
    const std::size_t count = batch.input.dim(0);
    const std::size_t first = batches.position() - count;
    for (std::size_t n = 0; n < count; ++n) {
      by_index[batches.order()[first + n]].assign(batch.input.data() + n * 12,
                                                  batch.input.data() + (n + 1) * 12);
    }
  }
  return by_index;
}

TEST(Augmentation, SameSampleGetsTheSameCropWhateverTheBatch) {
  const Dataset<float> dataset = numbered_samples();
  const Augmentation options{.crop_padding = 1, .flip_probability = 0.5};
  set_seed(1);  // two different shuffles, two different batch sizes
  const auto first = augmented_by_index(dataset, 3, options, 4);
  set_seed(2);
  const auto second = augmented_by_index(dataset, 7, options, 4);
  EXPECT_EQ(first, second);

  // And it is the keyed draw of (seed 99, epoch 4, its index) applied to the sample.
  const Augmenter<float> augmenter(options, Shape{1, 3, 4}, 99);
  std::size_t changed = 0;
  for (std::size_t index = 0; index < dataset.size(); ++index) {
    std::vector<float> expected(12);
    crop_and_flip(dataset.inputs.data() + index * 12, expected.data(), Shape{1, 3, 4}, 1,
                  augmenter.draw(4, index));
    EXPECT_EQ(first[index], expected) << "sample " << index;
    changed +=
        std::equal(expected.begin(), expected.end(), dataset.inputs.data() + index * 12) ? 0 : 1;
  }
  EXPECT_GT(changed, 5u);  // 1 in 18 draws leaves a sample as it was
  // The iterator's second epoch is the augmentation's epoch 5: other draws.
  EXPECT_NE(augmented_by_index(dataset, 3, options, 5), first);
}

TEST(Augmentation, BadOptionsNameTheOption) {
  const auto message = [](const Augmentation& options, const Shape& sample) {
    try {
      validate(options, sample);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  const Shape image{1, 28, 28};
  EXPECT_EQ(message({.flip_probability = 1.5}, image),
            "augmentation flip: expected a probability in [0, 1], got 1.5");
  EXPECT_EQ(message({.flip_probability = -0.1}, image),
            "augmentation flip: expected a probability in [0, 1], got -0.1");
  EXPECT_EQ(message({.crop_padding = 2, .crop_height = 33, .crop_width = 28}, image),
            "augmentation crop: expected a crop no larger than the padded image 32x32 (padding "
            "2), got 33x28");
  EXPECT_EQ(message({.crop_padding = 2, .crop_height = 24, .crop_width = 24}, image),
            "augmentation crop: expected a crop of the samples' own size 28x28 (evaluation sees "
            "whole samples), got 24x24");
  EXPECT_EQ(message({.crop_padding = 2}, Shape{784}),
            "augmentation crop: expected image samples (channels, height, width), got [784]");
  EXPECT_EQ(message({.flip_probability = 0.5}, Shape{4, 10}),
            "augmentation flip: expected image samples (channels, height, width), got [4, 10]");
  EXPECT_EQ(message({.crop_padding = 2, .crop_height = 28, .crop_width = 28}, image), "");
}

TEST(Normalization, SubtractsTheMeanAndDividesByTheStdPerChannel) {
  Dataset<double> dataset{Tensor<double>({2, 2, 1, 2}), {0, 0}, {"a"}};
  std::iota(dataset.inputs.begin(), dataset.inputs.end(), 0.0);  // 0..7
  normalize(dataset, Normalization{{1.0, 5.0}, {2.0, 0.5}});
  // Channel 0 holds 0, 1 and 4, 5; channel 1 holds 2, 3 and 6, 7.
  const std::vector<double> expected{-0.5, 0.0, -6.0, -4.0, 1.5, 2.0, 2.0, 4.0};
  EXPECT_EQ(std::vector<double>(dataset.inputs.begin(), dataset.inputs.end()), expected);

  Dataset<float> one{Tensor<float>({1, 3}, 3.0f), {0}, {"a"}};  // (F): each feature a channel
  normalize(one, Normalization{{1.0}, {4.0}});
  EXPECT_EQ(std::vector<float>(one.inputs.begin(), one.inputs.end()),
            (std::vector<float>{0.5f, 0.5f, 0.5f}));
}

TEST(Normalization, BadValuesNameTheOption) {
  const auto message = [](const Normalization& normalization) {
    try {
      validate(normalization, 3);
    } catch (const std::invalid_argument& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  EXPECT_EQ(message({{0.5}, {0.0}}),
            "normalize std: expected finite values above 0, got 0 for channel 0");
  EXPECT_EQ(message({{0.5}, {1.0, -2.0, 1.0}}),
            "normalize std: expected finite values above 0, got -2 for channel 1");
  EXPECT_EQ(message({{0.5, 0.5}, {1.0}}),
            "normalize mean: expected 1 value or one per channel (3), got 2 values");
  EXPECT_EQ(message({{std::nan("")}, {1.0}}),
            "normalize mean: expected finite values, got nan for channel 0");
  EXPECT_EQ(message({{0.5}, {2.0}}), "");
}

}  // namespace
}  // namespace cnnkit
