// A labelled dataset held in memory, and the DataLayer that cuts it into shuffled batches.
// Every file format (IDX, CSV, image folders, the shipped digits and Iris files) loads into a
// Dataset; training then only ever sees BatchIterator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cnnkit/data/augmentation.hpp"
#include "cnnkit/data_layer.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
struct Dataset {
  Tensor<T> inputs;                      // (count, ...) e.g. (count, 1, 28, 28) or (count, 4)
  std::vector<std::size_t> labels;       // class index per sample, each < class_names.size()
  std::vector<std::string> class_names;  // one per class ("0".."9", "T-shirt/top", ...)

  std::size_t size() const { return labels.size(); }
  std::size_t num_classes() const { return class_names.size(); }
  Shape sample_shape() const;  // inputs' shape without the leading count

  // The samples at these positions, in this order (throws std::out_of_range past the end).
  Dataset subset(const std::vector<std::size_t>& indices) const;
  // Throws std::invalid_argument unless inputs, labels and class_names agree.
  void validate(const std::string& source) const;
  // Every sample given this shape, the values in the same order (a CSV row of 2 * 16 values as
  // [channels 2, length 16] for a 1-D convolution). Throws std::invalid_argument starting with
  // `source` and naming both shapes when the element counts differ.
  void reshape_samples(const Shape& shape, const std::string& source);
};

// One-hot rows (count, num_classes) for these class indices.
template <typename T>
Tensor<T> one_hot(const std::vector<std::size_t>& labels, std::size_t num_classes);

// Batches of `batch_size` samples, in an order shuffled (with the library's random engine) at the
// start of every epoch; the last, shorter batch of an epoch is kept. Keeps a reference to the
// dataset, which must outlive it.
template <typename T>
class BatchIterator : public DataLayer<T> {
 public:
  BatchIterator(const Dataset<T>& dataset, std::size_t batch_size, bool shuffle = true);

  Batch<T> next() override;
  // The next batch is filled into these buffers (see DataLayer::recycle).
  void recycle(Batch<T>&& spent) override;

  std::size_t batch_size() const { return batch_size_; }
  std::size_t batches_per_epoch() const;        // ceil(size / batch_size)
  std::size_t epoch() const { return epoch_; }  // epochs begun so far (1 after the first next())
  // Class indices of the batch the last next() returned (for accuracy counts).
  const std::vector<std::size_t>& last_labels() const { return last_labels_; }
  // Position inside the epoch and the order, for checkpoints; restore with set_position.
  std::size_t position() const { return position_; }
  const std::vector<std::size_t>& order() const { return order_; }
  void set_position(std::size_t epoch, std::vector<std::size_t> order, std::size_t position);

  // Augments every sample next() hands out from now on (augmentation.hpp), keyed by `seed`, the
  // epoch (first_epoch for the first epoch this iterator begins, counting on from there) and the
  // sample's index in the dataset. Throws std::invalid_argument when the augmentation does not
  // fit the dataset's samples.
  void set_augmentation(const Augmentation& augmentation, std::uint64_t seed,
                        std::size_t first_epoch = 1);

 private:
  const Dataset<T>& dataset_;
  std::size_t batch_size_;
  bool shuffle_;
  std::vector<std::size_t> order_;  // sample indices of the current epoch
  std::size_t position_ = 0;        // next index into order_
  std::size_t epoch_ = 0;
  std::vector<std::size_t> last_labels_;
  BatchBuffers<T> buffers_;  // recycled buffers for the next batch
  std::optional<Augmenter<T>> augmenter_;
  std::size_t first_epoch_ = 1;  // the augmentation's epoch of this iterator's epoch 1
};

extern template struct Dataset<float>;
extern template struct Dataset<double>;
extern template class BatchIterator<float>;
extern template class BatchIterator<double>;

}  // namespace cnnkit
