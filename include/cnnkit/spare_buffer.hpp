// SpareBuffer<T>: one tensor buffer a layer (or loss, or data layer) keeps for its next result.
// A training step passes buffers around in a circle: a layer's output becomes the next layer's
// kept input, comes back as the error tensor of that output, and so on. A layer that gives each
// buffer it no longer needs to a spare and takes its next result from there makes the
// steady-state step allocation-free: every result reuses a buffer of the step before.
#pragma once

#include <utility>

#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
class SpareBuffer {
 public:
  // Keeps the buffer of a tensor its owner is done with (any shape; replaces the last one).
  void give(Tensor<T>&& spent) { spare_ = std::move(spent); }
  // A tensor of this shape with indeterminate values, in the spare buffer when that is large
  // enough (else a new one); the spare is empty afterwards.
  Tensor<T> take(const Shape& shape) { return Tensor<T>::uninitialized(shape, std::move(spare_)); }
  // The spare buffer itself (empty if none); the spare is empty afterwards.
  Tensor<T> release() {
    Tensor<T> spare = std::move(spare_);
    return spare;
  }
  // Elements the spare buffer holds now (0 when empty).
  std::size_t size() const noexcept { return spare_.size(); }

 private:
  Tensor<T> spare_;
};

}  // namespace cnnkit
