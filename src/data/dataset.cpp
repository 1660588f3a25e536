// Dataset (samples in memory) and BatchIterator (the DataLayer that cuts them into shuffled
// batches, one epoch after the other).
#include "cnnkit/data/dataset.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "check.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {

// ---- Dataset

template <typename T>
Shape Dataset<T>::sample_shape() const {
  const Shape& shape = inputs.shape();
  if (shape.empty()) return {};
  return Shape(shape.begin() + 1, shape.end());
}

template <typename T>
Dataset<T> Dataset<T>::subset(const std::vector<std::size_t>& indices) const {
  // Copying rows is only safe when inputs and labels agree on the count.
  validate("Dataset::subset");
  const Shape sample = sample_shape();
  const std::size_t sample_size = element_count(sample);

  Shape shape{indices.size()};
  shape.insert(shape.end(), sample.begin(), sample.end());
  Dataset result{Tensor<T>::uninitialized(shape), {}, class_names};  // every row copied below
  result.labels.reserve(indices.size());
  for (std::size_t position = 0; position < indices.size(); ++position) {
    const std::size_t index = indices[position];
    if (index >= size()) {
      throw std::out_of_range("Dataset::subset: expected sample indices below " +
                              std::to_string(size()) + ", got " + std::to_string(index) +
                              " at position " + std::to_string(position));
    }
    std::copy_n(inputs.data() + index * sample_size, sample_size,
                result.inputs.data() + position * sample_size);
    result.labels.push_back(labels[index]);
  }
  return result;
}

template <typename T>
void Dataset<T>::reshape_samples(const Shape& shape, const std::string& source) {
  const Shape sample = sample_shape();
  if (element_count(shape) != element_count(sample) || shape.empty()) {
    throw std::invalid_argument(source + ": expected a sample shape of " +
                                std::to_string(element_count(sample)) + " values to reshape " +
                                to_string(sample) + " into, got " + to_string(shape) + " (" +
                                std::to_string(element_count(shape)) + " values)");
  }
  Shape all{inputs.rank() > 0 ? inputs.dim(0) : 0};
  all.insert(all.end(), shape.begin(), shape.end());
  inputs = std::move(inputs).reshaped(all);
}

template <typename T>
void Dataset<T>::validate(const std::string& source) const {
  const std::string component = "Dataset " + source;
  detail::require(inputs.rank() >= 2, component, "inputs of rank >= 2 (count, ...)",
                  to_string(inputs.shape()));
  detail::require(inputs.dim(0) == labels.size(), component,
                  "one label per sample (" + std::to_string(inputs.dim(0)) + ")",
                  std::to_string(labels.size()) + " labels");
  detail::require(!class_names.empty(), component, "at least one class name", "none");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= class_names.size()) {
      detail::fail(component, "class indices below " + std::to_string(class_names.size()),
                   std::to_string(labels[i]) + " for sample " + std::to_string(i));
    }
  }
}

template <typename T>
Tensor<T> one_hot(const std::vector<std::size_t>& labels, std::size_t num_classes) {
  detail::require(num_classes > 0, "one_hot", "at least one class", "0");
  Tensor<T> result({labels.size(), num_classes});
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes) {
      detail::fail("one_hot", "class indices below " + std::to_string(num_classes),
                   std::to_string(labels[i]) + " at position " + std::to_string(i));
    }
    result[i * num_classes + labels[i]] = T(1);
  }
  return result;
}

// ---- BatchIterator

template <typename T>
BatchIterator<T>::BatchIterator(const Dataset<T>& dataset, std::size_t batch_size, bool shuffle)
    : dataset_(dataset), batch_size_(batch_size), shuffle_(shuffle) {
  detail::require(batch_size > 0, "BatchIterator", "batch size > 0", "0");
  dataset.validate("given to BatchIterator");
  detail::require(dataset.size() > 0, "BatchIterator", "a dataset with samples", "0 samples");
}

template <typename T>
std::size_t BatchIterator<T>::batches_per_epoch() const {
  return (dataset_.size() + batch_size_ - 1) / batch_size_;
}

template <typename T>
Batch<T> BatchIterator<T>::next() {
  if (position_ >= order_.size()) {
    // A new epoch: every sample once, in a fresh order.
    order_.resize(dataset_.size());
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    if (shuffle_) std::shuffle(order_.begin(), order_.end(), random_engine());
    position_ = 0;
    ++epoch_;
  }
  // The dataset is held by reference: if it shrank, the order would point past its end.
  if (order_.size() != dataset_.size()) {
    throw std::logic_error("BatchIterator: expected the dataset to keep its " +
                           std::to_string(order_.size()) + " samples during an epoch, got " +
                           std::to_string(dataset_.size()));
  }

  const std::size_t count = std::min(batch_size_, order_.size() - position_);
  const Shape sample = dataset_.sample_shape();
  const std::size_t sample_size = element_count(sample);
  Shape shape{count};
  shape.insert(shape.end(), sample.begin(), sample.end());

  // In the buffers of a recycled batch where there is one (no allocation in the steady state).
  const std::size_t classes = dataset_.num_classes();
  Batch<T> batch = buffers_.take(shape, {count, classes});
  batch.label.fill(T(0));  // one-hot rows; the inputs are copied in row by row
  last_labels_.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t index = order_[position_ + i];
    std::copy_n(dataset_.inputs.data() + index * sample_size, sample_size,
                batch.input.data() + i * sample_size);
    if (augmenter_) {
      augmenter_->apply(batch.input.data() + i * sample_size, first_epoch_ + epoch_ - 1, index);
    }
    last_labels_[i] = dataset_.labels[index];
    if (last_labels_[i] >= classes) {  // the dataset changed since validate()
      detail::fail("BatchIterator", "class indices below " + std::to_string(classes),
                   std::to_string(last_labels_[i]) + " for sample " + std::to_string(index));
    }
    batch.label[i * classes + last_labels_[i]] = T(1);
  }
  position_ += count;
  // The next batch's samples sit at random places of the dataset, in no cache: ask for them
  // now, so that they arrive while the network trains on this batch instead of stalling the next
  // one (docs/PERFORMANCE.md, "Prefetching the next batch").
  const std::size_t next_end = std::min(order_.size(), position_ + batch_size_);
  for (std::size_t i = position_; i < next_end; ++i) {
    const auto* row =
        reinterpret_cast<const char*>(dataset_.inputs.data() + order_[i] * sample_size);
    for (std::size_t byte = 0; byte < sample_size * sizeof(T); byte += 64) {
      __builtin_prefetch(row + byte);
    }
  }
  return batch;
}

template <typename T>
void BatchIterator<T>::recycle(Batch<T>&& spent) {
  buffers_.give(std::move(spent));
}

template <typename T>
void BatchIterator<T>::set_position(std::size_t epoch, std::vector<std::size_t> order,
                                    std::size_t position) {
  const std::string component = "BatchIterator::set_position";
  detail::require(order.size() == dataset_.size(), component,
                  "an order of all " + std::to_string(dataset_.size()) + " samples",
                  std::to_string(order.size()) + " indices");
  std::vector<bool> seen(order.size(), false);
  for (const std::size_t index : order) {
    detail::require(index < order.size() && !seen[index], component,
                    "each sample index below " + std::to_string(order.size()) + " exactly once",
                    "index " + std::to_string(index) + (index < order.size() ? " twice" : ""));
    seen[index] = true;
  }
  detail::require(position <= order.size(), component,
                  "a position <= " + std::to_string(order.size()), std::to_string(position));
  epoch_ = epoch;
  order_ = std::move(order);
  position_ = position;
}

template <typename T>
void BatchIterator<T>::set_augmentation(const Augmentation& augmentation, std::uint64_t seed,
                                        std::size_t first_epoch) {
  augmenter_.emplace(augmentation, dataset_.sample_shape(), seed);
  first_epoch_ = first_epoch;
}

template struct Dataset<float>;
template struct Dataset<double>;
template Tensor<float> one_hot<float>(const std::vector<std::size_t>&, std::size_t);
template Tensor<double> one_hot<double>(const std::vector<std::size_t>&, std::size_t);
template class BatchIterator<float>;
template class BatchIterator<double>;

}  // namespace cnnkit
