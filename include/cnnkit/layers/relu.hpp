// ReLU: y = max(0, x); backward passes the error where x > 0.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class ReLU : public Layer<T> {
 public:
  std::string type() const override { return "ReLU"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }
  std::size_t forward_flops(const Shape& input_shape) const override;

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override;
  Tensor<T> backward_handed_over(Tensor<T>&& error_tensor) override;

 private:
  // forward() / backward() into `output` / `input_error` (which may be the tensor's own buffer).
  void rectify(const Tensor<T>& input, T* output);
  void pass_errors(const Tensor<T>& error_tensor, T* input_error) const;

  // Where forward's input was > 0 (1) or not (0): where errors pass. One byte per element instead
  // of a copy of the input (a quarter of the traffic for float).
  std::vector<std::uint8_t> passes_;
  std::optional<Shape> input_shape_;  // shape of the last training forward's input; none before
};

extern template class ReLU<float>;
extern template class ReLU<double>;

}  // namespace cnnkit
