// Activation<T>: the calls' order, the shapes and the buffers of the element-wise activations;
// the formulas are in each activation's own file.
#include "cnnkit/layers/activation.hpp"

#include <utility>

#include "check.hpp"

namespace cnnkit {

template <typename T>
std::size_t Activation<T>::forward_flops(const Shape& input_shape) const {
  return element_count(input_shape) * flops_per_element();
}

template <typename T>
void Activation<T>::run_forward(const Tensor<T>& input, T* output) {
  // The testing phase keeps nothing for backward().
  if (this->testing_phase()) {
    input_shape_.reset();
    activate(input.data(), output, nullptr, input.size());
    return;
  }
  kept_.resize(input.size());  // grows once; a steady batch shape reuses it
  activate(input.data(), output, kept_.data(), input.size());
  input_shape_ = input.shape();
}

template <typename T>
Tensor<T> Activation<T>::forward(const Tensor<T>& input) {
  Tensor<T> output = this->new_output(input.shape());  // written in full
  run_forward(input, output.data());
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> Activation<T>::forward_handed_over(Tensor<T>&& input) {
  run_forward(input, input.data());  // handed over: computed in place
  return std::move(input);
}

template <typename T>
void Activation<T>::run_backward(const Tensor<T>& error_tensor, T* input_error) const {
  // The callers checked the calls' order: a training-phase forward() set input_shape_.
  detail::require_shape(error_tensor.shape(), *input_shape_, this->type(), "error_tensor");
  derive(kept_.data(), error_tensor.data(), input_error, error_tensor.size());
}

template <typename T>
Tensor<T> Activation<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();
  Tensor<T> input_error = this->new_input_error(error_tensor.shape());  // written in full
  run_backward(error_tensor, input_error.data());
  this->note_backward();
  return input_error;
}

template <typename T>
Tensor<T> Activation<T>::backward_handed_over(Tensor<T>&& error_tensor) {
  run_backward(error_tensor, error_tensor.data());  // handed over: computed in place
  return std::move(error_tensor);
}

template class Activation<float>;
template class Activation<double>;

}  // namespace cnnkit
