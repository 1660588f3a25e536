// SoftMax over the last axis of (batch, categories):
//   y_k = exp(x_k - max x) / sum_j exp(x_j - max x)
// Shifting by the row maximum keeps exp() finite for any input. Backward:
//   E_{n-1} = y * (E_n - sum_j E_n,j y_j)
#pragma once

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class SoftMax : public Layer<T> {
 public:
  std::string type() const override { return "SoftMax"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override;
  std::size_t forward_flops(const Shape& input_shape) const override;

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override;          // in place
  Tensor<T> backward_handed_over(Tensor<T>&& error_tensor) override;  // in place

 private:
  void compute(const Tensor<T>& input, T* output) const;  // y of every row; may be in place
  void pass_errors(const Tensor<T>& error_tensor, T* input_error) const;  // may be in place

  Tensor<T> output_;  // forward's result y, all that backward needs
};

extern template class SoftMax<float>;
extern template class SoftMax<double>;

}  // namespace cnnkit
