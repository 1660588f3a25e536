// MergeLayer: the calls' order, the shapes and the recycled buffers of every merge layer, around
// its merge() and split().
#include "cnnkit/merge_layer.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "check.hpp"

namespace cnnkit {

template <typename T>
Tensor<T> MergeLayer<T>::forward(std::span<const Tensor<T>* const> inputs) {
  if (inputs.empty()) detail::fail(this->type(), "at least one input", "none");
  input_shapes_.resize(inputs.size());  // grows once to the fan-in
  for (std::size_t k = 0; k < inputs.size(); ++k) input_shapes_[k] = inputs[k]->shape();
  Tensor<T> output = this->new_output(output_shape(std::span<const Shape>(input_shapes_)));
  merge(inputs, output);
  this->note_forward();
  return output;
}

template <typename T>
void MergeLayer<T>::backward(Tensor<T>&& error_tensor, std::span<Tensor<T>> input_errors) {
  this->require_fresh_forward();
  // Checked without building a message unless one fails: the step allocates nothing.
  if (input_errors.size() != input_shapes_.size()) {
    detail::fail(this->type(),
                 "one input error per input (" + std::to_string(input_shapes_.size()) + ")",
                 std::to_string(input_errors.size()));
  }
  const Shape output = output_shape(std::span<const Shape>(input_shapes_));
  if (error_tensor.shape() != output) {
    detail::require_shape(error_tensor.shape(), output, this->type(), "error_tensor");
  }
  for (std::size_t k = 0; k < input_errors.size(); ++k) {
    input_errors[k] = Tensor<T>::uninitialized(input_shapes_[k], std::move(input_errors[k]));
  }
  split(error_tensor, input_errors);
  this->recycle_error(std::move(error_tensor));
  this->note_backward();
}

template <typename T>
Tensor<T> MergeLayer<T>::forward(const Tensor<T>& input) {
  const Tensor<T>* const inputs[] = {&input};
  return forward(std::span<const Tensor<T>* const>(inputs));
}

template <typename T>
Tensor<T> MergeLayer<T>::backward(const Tensor<T>& error_tensor) {
  Tensor<T> input_errors[] = {this->new_input_error(error_tensor.shape())};
  backward(Tensor<T>(error_tensor), std::span<Tensor<T>>(input_errors));
  return std::move(input_errors[0]);
}

template class MergeLayer<float>;
template class MergeLayer<double>;

}  // namespace cnnkit
