// Where batches come from. A DataLayer hands out (input, one-hot label) pairs, one per call.
#pragma once

#include <utility>

#include "cnnkit/spare_buffer.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
struct Batch {
  Tensor<T> input;  // (batch, ...) as the first layer expects
  Tensor<T> label;  // (batch, categories), one-hot for classification
};

// The two recycled buffers of a data layer (see DataLayer::recycle): give() keeps a spent
// batch's buffers, take() hands out the next batch in them (values indeterminate, to be
// written in full; new buffers where the spent ones are too small or missing).
template <typename T>
class BatchBuffers {
 public:
  void give(Batch<T>&& spent) {
    input_.give(std::move(spent.input));
    label_.give(std::move(spent.label));
  }
  Batch<T> take(const Shape& input_shape, const Shape& label_shape) {
    return {input_.take(input_shape), label_.take(label_shape)};
  }

 private:
  SpareBuffer<T> input_;
  SpareBuffer<T> label_;
};

template <typename T>
class DataLayer {
 public:
  virtual ~DataLayer() = default;
  virtual Batch<T> next() = 0;
  // The network hands back the buffers of a batch it is done with (the label, and a tensor of
  // the input's shape): a data layer that fills its next batch into them (BatchBuffers)
  // keeps the training step free of allocations. By default they are simply released.
  virtual void recycle(Batch<T>&& /*spent*/) {}
};

}  // namespace cnnkit
