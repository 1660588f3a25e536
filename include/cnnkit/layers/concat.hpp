// Concat: the inputs side by side along axis 1, the channel axis (or the features of a
// (batch, features) input); every other axis must agree.
//   forward:  y[n, c_offset(i) + c, ...] = x_i[n, c, ...], c_offset(i) = C_1 + ... + C_(i-1)
//   backward: dL/dx_i[n, c, ...] = dL/dy[n, c_offset(i) + c, ...]
#pragma once

#include "cnnkit/merge_layer.hpp"

namespace cnnkit {

template <typename T>
class Concat final : public MergeLayer<T> {
 public:
  std::string type() const override { return "Concat"; }
  using MergeLayer<T>::output_shape;
  Shape output_shape(std::span<const Shape> input_shapes) const override;

 protected:
  void merge(std::span<const Tensor<T>* const> inputs, Tensor<T>& output) override;
  void split(const Tensor<T>& error_tensor, std::span<Tensor<T>> input_errors) override;
};

extern template class Concat<float>;
extern template class Concat<double>;

}  // namespace cnnkit
