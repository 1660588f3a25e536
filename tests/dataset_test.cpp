// Dataset, one_hot and BatchIterator: every sample exactly once per epoch, the last partial batch,
// repeatable shuffles, checkpoint positions and the argument checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "cnnkit/data/dataset.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {
namespace {

// `count` samples of shape (2) holding {i, 100 + i}, labelled i % 3: every batch row tells which
// sample it is.
Dataset<double> numbered_dataset(std::size_t count) {
  Dataset<double> dataset{Tensor<double>({count, 2}), {}, {"a", "b", "c"}};
  for (std::size_t i = 0; i < count; ++i) {
    dataset.inputs(i, 0) = static_cast<double>(i);
    dataset.inputs(i, 1) = 100.0 + static_cast<double>(i);
    dataset.labels.push_back(i % 3);
  }
  return dataset;
}

// The sample indices of one batch, read back from its inputs; checks rows, labels and one-hot.
std::vector<std::size_t> indices_of(const Batch<double>& batch, const BatchIterator<double>& it) {
  std::vector<std::size_t> indices;
  const std::size_t count = batch.input.dim(0);
  EXPECT_EQ(batch.label.shape(), (Shape{count, 3}));
  EXPECT_EQ(it.last_labels().size(), count);
  for (std::size_t row = 0; row < count; ++row) {
    const auto index = static_cast<std::size_t>(batch.input(row, 0));
    EXPECT_EQ(batch.input(row, 1), 100.0 + static_cast<double>(index));
    EXPECT_EQ(it.last_labels()[row], index % 3);
    for (std::size_t c = 0; c < 3; ++c) {
      EXPECT_EQ(batch.label(row, c), c == index % 3 ? 1.0 : 0.0);
    }
    indices.push_back(index);
  }
  return indices;
}

// All sample indices of the next epoch, batch by batch (with the batch sizes).
std::vector<std::size_t> one_epoch(BatchIterator<double>& it, std::vector<std::size_t>* sizes) {
  std::vector<std::size_t> all;
  for (std::size_t b = 0; b < it.batches_per_epoch(); ++b) {
    const Batch<double> batch = it.next();
    const std::vector<std::size_t> indices = indices_of(batch, it);
    if (sizes) sizes->push_back(indices.size());
    all.insert(all.end(), indices.begin(), indices.end());
  }
  return all;
}

std::vector<std::size_t> iota(std::size_t count) {
  std::vector<std::size_t> v(count);
  std::iota(v.begin(), v.end(), std::size_t{0});
  return v;
}

TEST(Dataset, SampleShapeAndSubset) {
  Dataset<float> dataset{Tensor<float>({4, 1, 2, 2}), {0, 1, 1, 0}, {"x", "y"}};
  for (std::size_t i = 0; i < dataset.inputs.size(); ++i) {
    dataset.inputs[i] = static_cast<float>(i);
  }
  EXPECT_EQ(dataset.sample_shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(dataset.size(), 4u);
  EXPECT_EQ(dataset.num_classes(), 2u);

  const Dataset<float> picked = dataset.subset({3, 1, 3});
  EXPECT_EQ(picked.inputs.shape(), (Shape{3, 1, 2, 2}));
  EXPECT_EQ(picked.labels, (std::vector<std::size_t>{0, 1, 0}));
  EXPECT_EQ(picked.class_names, dataset.class_names);
  EXPECT_EQ(picked.inputs(0, 0, 0, 0), 12.0f);  // sample 3 starts at 3*4
  EXPECT_EQ(picked.inputs(1, 0, 1, 1), 7.0f);   // sample 1 ends at 1*4+3
  EXPECT_EQ(picked.inputs(2, 0, 1, 0), 14.0f);
  EXPECT_EQ(dataset.subset({}).inputs.shape(), (Shape{0, 1, 2, 2}));
  EXPECT_THROW(dataset.subset({0, 4}), std::out_of_range);
}

TEST(Dataset, ValidateNamesSourceAndProblem) {
  Dataset<double> dataset = numbered_dataset(5);
  EXPECT_NO_THROW(dataset.validate("numbers"));

  Dataset<double> too_few_labels = dataset;
  too_few_labels.labels.pop_back();
  try {
    too_few_labels.validate("numbers.csv");
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("numbers.csv"), std::string::npos) << message;
    EXPECT_NE(message.find("4 labels"), std::string::npos) << message;
  }

  Dataset<double> bad_label = dataset;
  bad_label.labels[2] = 3;
  EXPECT_THROW(bad_label.validate("x"), std::invalid_argument);
  Dataset<double> no_classes = dataset;
  no_classes.class_names.clear();
  EXPECT_THROW(no_classes.validate("x"), std::invalid_argument);
  Dataset<double> rank_one{Tensor<double>({5}), {0, 0, 0, 0, 0}, {"a"}};
  EXPECT_THROW(rank_one.validate("x"), std::invalid_argument);
  // subset() refuses to copy rows out of an inconsistent dataset.
  EXPECT_THROW(too_few_labels.subset({0}), std::invalid_argument);
}

TEST(Dataset, OneHot) {
  const Tensor<float> encoded = one_hot<float>({2, 0, 1}, 3);
  EXPECT_EQ(encoded, Tensor<float>({3, 3}, {0, 0, 1, 1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(one_hot<double>({}, 4).shape(), (Shape{0, 4}));
  EXPECT_THROW(one_hot<float>({0, 3}, 3), std::invalid_argument);
  EXPECT_THROW(one_hot<float>({0}, 0), std::invalid_argument);
}

TEST(BatchIterator, EverySampleOncePerEpochWithPartialLastBatch) {
  set_seed(3);
  const Dataset<double> dataset = numbered_dataset(10);
  BatchIterator<double> it(dataset, 4);
  EXPECT_EQ(it.batches_per_epoch(), 3u);
  EXPECT_EQ(it.epoch(), 0u);
  for (std::size_t epoch = 1; epoch <= 3; ++epoch) {
    std::vector<std::size_t> sizes;
    std::vector<std::size_t> seen = one_epoch(it, &sizes);
    EXPECT_EQ(it.epoch(), epoch);
    EXPECT_EQ(sizes, (std::vector<std::size_t>{4, 4, 2}));
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, iota(10));
  }
  // The next batch begins epoch 4.
  it.next();
  EXPECT_EQ(it.epoch(), 4u);
}

TEST(BatchIterator, ShufflesEveryEpochDifferently) {
  set_seed(4);
  const Dataset<double> dataset = numbered_dataset(50);
  BatchIterator<double> it(dataset, 50);
  const std::vector<std::size_t> first = one_epoch(it, nullptr);
  const std::vector<std::size_t> second = one_epoch(it, nullptr);
  EXPECT_NE(first, iota(50));  // 1 in 50! to fail by chance
  EXPECT_NE(first, second);
}

TEST(BatchIterator, WithoutShuffleKeepsOrder) {
  const Dataset<double> dataset = numbered_dataset(7);
  BatchIterator<double> it(dataset, 3, false);
  EXPECT_EQ(one_epoch(it, nullptr), iota(7));
  EXPECT_EQ(one_epoch(it, nullptr), iota(7));
}

TEST(BatchIterator, SameSeedSameOrder) {
  const Dataset<double> dataset = numbered_dataset(40);
  set_seed(77);
  BatchIterator<double> a(dataset, 16);
  const std::vector<std::size_t> order_a = one_epoch(a, nullptr);
  set_seed(77);
  BatchIterator<double> b(dataset, 16);
  EXPECT_EQ(one_epoch(b, nullptr), order_a);
  set_seed(78);
  BatchIterator<double> c(dataset, 16);
  EXPECT_NE(one_epoch(c, nullptr), order_a);
}

TEST(BatchIterator, SetPositionResumesACheckpoint) {
  set_seed(9);
  const Dataset<double> dataset = numbered_dataset(12);
  BatchIterator<double> original(dataset, 5);
  original.next();
  const std::size_t epoch = original.epoch();
  const std::vector<std::size_t> order = original.order();
  const std::size_t position = original.position();
  EXPECT_EQ(position, 5u);

  BatchIterator<double> resumed(dataset, 5);
  resumed.set_position(epoch, order, position);
  EXPECT_EQ(resumed.epoch(), 1u);
  for (int i = 0; i < 2; ++i) {  // the rest of the epoch: 5 then 2 samples
    const Batch<double> expected = original.next();
    const Batch<double> got = resumed.next();
    EXPECT_EQ(got.input, expected.input);
    EXPECT_EQ(got.label, expected.label);
  }
  EXPECT_EQ(resumed.position(), 12u);
}

TEST(BatchIterator, SetPositionValidates) {
  const Dataset<double> dataset = numbered_dataset(4);
  BatchIterator<double> it(dataset, 2);
  EXPECT_THROW(it.set_position(1, {0, 1, 2}, 0), std::invalid_argument);     // too short
  EXPECT_THROW(it.set_position(1, {0, 1, 2, 2}, 0), std::invalid_argument);  // twice
  EXPECT_THROW(it.set_position(1, {0, 1, 2, 4}, 0), std::invalid_argument);  // past the end
  EXPECT_THROW(it.set_position(1, {3, 2, 1, 0}, 5), std::invalid_argument);  // position
  EXPECT_NO_THROW(it.set_position(1, {3, 2, 1, 0}, 4));
  // At the end of an epoch: the next batch starts a new one.
  it.next();
  EXPECT_EQ(it.epoch(), 2u);
}

TEST(BatchIterator, RejectsBadArguments) {
  const Dataset<double> dataset = numbered_dataset(4);
  EXPECT_THROW(BatchIterator<double>(dataset, 0), std::invalid_argument);
  const Dataset<double> empty{Tensor<double>({0, 2}), {}, {"a"}};
  EXPECT_THROW(BatchIterator<double>(empty, 2), std::invalid_argument);
  Dataset<double> inconsistent = dataset;
  inconsistent.labels.push_back(0);
  EXPECT_THROW(BatchIterator<double>(inconsistent, 2), std::invalid_argument);
}

TEST(BatchIterator, FloatImagesKeepTheirShape) {
  Dataset<float> images{Tensor<float>({3, 1, 2, 2}, 0.5f), {0, 1, 0}, {"no", "yes"}};
  BatchIterator<float> it(images, 2, false);
  const Batch<float> batch = it.next();
  EXPECT_EQ(batch.input.shape(), (Shape{2, 1, 2, 2}));
  EXPECT_EQ(batch.label, Tensor<float>({2, 2}, {1, 0, 0, 1}));
  EXPECT_EQ(it.next().input.shape(), (Shape{1, 1, 2, 2}));
}

}  // namespace
}  // namespace cnnkit
