// Activation: the frame the element-wise activations share (Sigmoid, TanH, LeakyReLU). Forward
// maps every element on its own and keeps one value per element for backward (what the derivative
// needs: the output y for Sigmoid and TanH, the input x for LeakyReLU); backward multiplies each
// error by the derivative there. Both compute in the handed-over tensor, and the kept values live
// in a buffer that grows once, so a steady training step allocates nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class Activation : public Layer<T> {
 public:
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }
  // flops_per_element() for every element.
  std::size_t forward_flops(const Shape& input_shape) const override;

 protected:
  Activation() = default;

  Tensor<T> forward_handed_over(Tensor<T>&& input) override;
  Tensor<T> backward_handed_over(Tensor<T>&& error_tensor) override;

  // y[i] = f(x[i]) and, unless `kept` is null (the testing phase), kept[i] = what derive() needs,
  // for n elements. y may be x itself: read x[i] before writing y[i].
  virtual void activate(const T* x, T* y, T* kept, std::size_t n) const = 0;
  // input_error[i] = error[i] * f'(x[i]), from kept[i], for n elements; input_error may be error.
  virtual void derive(const T* kept, const T* error, T* input_error, std::size_t n) const = 0;
  // The operations of one forward element, an exp or a tanh counted as one.
  virtual std::size_t flops_per_element() const = 0;

 private:
  void run_forward(const Tensor<T>& input, T* output);
  void run_backward(const Tensor<T>& error_tensor, T* input_error) const;

  std::vector<T> kept_;               // one value per element of the last training input
  std::optional<Shape> input_shape_;  // that input's shape; none before or after testing
};

extern template class Activation<float>;
extern template class Activation<double>;

}  // namespace cnnkit
