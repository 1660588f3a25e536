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
void ReLU<T>::rectify(const Tensor<T>& input, T* output) {
  // The testing phase keeps nothing for backward().
  if (this->testing_phase()) {
    input_shape_.reset();
    kernels::relu_forward(input.data(), output, nullptr, input.size());
    return;
  }
  passes_.resize(input.size());  // grows once; a steady batch shape reuses it
  kernels::relu_forward(input.data(), output, passes_.data(), input.size());
  input_shape_ = input.shape();
}

template <typename T>
Tensor<T> ReLU<T>::forward(const Tensor<T>& input) {
  auto output = Tensor<T>::uninitialized(input.shape());  // written in full
  rectify(input, output.data());
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> ReLU<T>::forward_handed_over(Tensor<T>&& input) {
  rectify(input, input.data());  // handed over: computed in place
  return std::move(input);
}

template <typename T>
void ReLU<T>::pass_errors(const Tensor<T>& error_tensor, T* input_error) const {
  // The callers checked the calls' order: a training-phase forward() set input_shape_.
  detail::require_shape(error_tensor.shape(), *input_shape_, kName, "error_tensor");
  // dy/dx is 1 where x > 0 and 0 elsewhere (the subgradient 0 at the kink x = 0).
  kernels::relu_backward(passes_.data(), error_tensor.data(), input_error, error_tensor.size());
}

template <typename T>
Tensor<T> ReLU<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();
  auto input_error = Tensor<T>::uninitialized(error_tensor.shape());  // written in full
  pass_errors(error_tensor, input_error.data());
  this->note_backward();
  return input_error;
}

template <typename T>
Tensor<T> ReLU<T>::backward_handed_over(Tensor<T>&& error_tensor) {
  pass_errors(error_tensor, error_tensor.data());  // handed over: computed in place
  return std::move(error_tensor);
}

template class ReLU<float>;
template class ReLU<double>;

}  // namespace cnnkit
