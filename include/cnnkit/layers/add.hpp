// Add: the elementwise sum of any number of inputs of one shape (a residual connection).
//   forward:  y = x_1 + x_2 + ... + x_k
//   backward: dL/dx_i = dL/dy for every i
// (with a fused ReLU: y = max(0, x_1 + ... + x_k), dL/dx_i = dL/dy where y > 0, else 0).
#pragma once

#include <cstdint>
#include <vector>

#include "cnnkit/merge_layer.hpp"

namespace cnnkit {

template <typename T>
class Add final : public MergeLayer<T> {
 public:
  std::string type() const override { return "Add"; }
  using MergeLayer<T>::output_shape;
  Shape output_shape(std::span<const Shape> input_shapes) const override;

  // A ReLU fused after the sum (off by default; the graph engine turns it on for an Add whose
  // output only a ReLU reads, and that ReLU then passes values and errors through): forward()
  // returns max(0, y) and backward() takes the error of that output, as the pair Add -> ReLU
  // would, with the same values to the bit. The mask is kept as one byte per element.
  void set_fused_relu(bool fused) { fused_relu_ = fused; }
  bool fused_relu() const { return fused_relu_; }

 protected:
  void merge(std::span<const Tensor<T>* const> inputs, Tensor<T>& output) override;
  void split(const Tensor<T>& error_tensor, std::span<Tensor<T>> input_errors) override;

 private:
  bool fused_relu_ = false;
  bool masked_ = false;               // whether the last forward() kept passes_
  std::vector<std::uint8_t> passes_;  // the fused ReLU's mask: 1 where y > 0
};

extern template class Add<float>;
extern template class Add<double>;

}  // namespace cnnkit
