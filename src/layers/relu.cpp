// ReLU<T> (the basic framework the lecture builds on; the lecture's reason for He and for
// Constant(0.1) biases):
//   forward:  y = max(0, x)
//   backward: E_{n-1} = E_n where x > 0, else 0 (the subgradient 0 at the kink x = 0)
#include "cnnkit/layers/relu.hpp"

#include <cstddef>

#include "check.hpp"
#include "kernels/elementwise.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "ReLU";

}  // namespace

template <typename T>
std::size_t ReLU<T>::forward_flops(const Shape& input_shape) const {
  // One comparison per element.
  return element_count(input_shape);
}

template <typename T>
Tensor<T> ReLU<T>::forward(const Tensor<T>& input) {
  Tensor<T> output(input.shape());
  kernels::relu_forward(input.data(), output.data(), input.size());
  // The testing phase keeps nothing for backward(): the default shape [0] then marks "no
  // training forward".
  if (this->testing_phase()) {
    input_ = Tensor<T>();
  } else {
    input_ = input;
  }
  return output;
}

template <typename T>
Tensor<T> ReLU<T>::backward(const Tensor<T>& error_tensor) {
  // input_ keeps the default shape [0] until forward() has run (ReLU takes any shape, so an
  // empty input of shape [0] is treated as "no forward yet": it carries no error anyway).
  detail::require_training_forward_done(input_.shape() != Shape{0}, kName);
  detail::require_shape(error_tensor.shape(), input_.shape(), kName, "error_tensor");
  // dy/dx is 1 where x > 0 and 0 elsewhere (the subgradient 0 at the kink x = 0).
  Tensor<T> input_error(input_.shape());
  kernels::relu_backward(input_.data(), error_tensor.data(), input_error.data(), input_.size());
  return input_error;
}

template class ReLU<float>;
template class ReLU<double>;

}  // namespace cnnkit
