// ReLU: y = max(0, x); backward passes the error where x > 0.
#pragma once

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class ReLU : public Layer<T> {
 public:
  std::string type() const override { return "ReLU"; }
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }
  std::size_t forward_flops(const Shape& input_shape) const override;

 private:
  Tensor<T> input_;  // forward's input: its sign decides where errors pass
};

extern template class ReLU<float>;
extern template class ReLU<double>;

}  // namespace cnnkit
