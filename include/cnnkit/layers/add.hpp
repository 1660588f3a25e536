// Add: the elementwise sum of any number of inputs of one shape (a residual connection).
//   forward:  y = x_1 + x_2 + ... + x_k
//   backward: dL/dx_i = dL/dy for every i
#pragma once

#include "cnnkit/merge_layer.hpp"

namespace cnnkit {

template <typename T>
class Add final : public MergeLayer<T> {
 public:
  std::string type() const override { return "Add"; }
  using MergeLayer<T>::output_shape;
  Shape output_shape(std::span<const Shape> input_shapes) const override;

 protected:
  void merge(std::span<const Tensor<T>* const> inputs, Tensor<T>& output) override;
  void split(const Tensor<T>& error_tensor, std::span<Tensor<T>> input_errors) override;
};

extern template class Add<float>;
extern template class Add<double>;

}  // namespace cnnkit
