#include "cnnkit/layers/relu.hpp"

#include <cstddef>

#include "check.hpp"

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
  input_ = input;
  Tensor<T> output(input.shape());
  for (std::size_t i = 0; i < input.size(); ++i) {
    output[i] = input[i] > T(0) ? input[i] : T(0);
  }
  return output;
}

template <typename T>
Tensor<T> ReLU<T>::backward(const Tensor<T>& error_tensor) {
  // input_ keeps the default shape [0] until forward() has run (ReLU takes any shape, so an
  // empty input of shape [0] is treated as "no forward yet": it carries no error anyway).
  detail::require_forward_done(input_.shape() != Shape{0}, kName);
  detail::require_shape(error_tensor.shape(), input_.shape(), kName, "error_tensor");
  // dy/dx is 1 where x > 0 and 0 elsewhere (the subgradient 0 at the kink x = 0).
  Tensor<T> input_error(input_.shape());
  for (std::size_t i = 0; i < input_error.size(); ++i) {
    input_error[i] = input_[i] > T(0) ? error_tensor[i] : T(0);
  }
  return input_error;
}

template class ReLU<float>;
template class ReLU<double>;

}  // namespace cnnkit
