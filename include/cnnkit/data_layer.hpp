// Where batches come from. A DataLayer hands out (input, one-hot label) pairs, one per call.
#pragma once

#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
struct Batch {
  Tensor<T> input;  // (batch, ...) as the first layer expects
  Tensor<T> label;  // (batch, categories), one-hot for classification
};

template <typename T>
class DataLayer {
 public:
  virtual ~DataLayer() = default;
  virtual Batch<T> next() = 0;
  // The network hands back the buffers of a batch it is done with (the label, and a tensor of
  // the input's shape): a data layer that fills its next batch into them (see SpareBuffer)
  // keeps the training step free of allocations. By default they are simply released.
  virtual void recycle(Batch<T>&& /*spent*/) {}
};

}  // namespace cnnkit
