#include "cnnkit/layers/add.hpp"

#include <algorithm>
#include <string>

#include "check.hpp"

namespace cnnkit {

template <typename T>
Shape Add<T>::output_shape(std::span<const Shape> input_shapes) const {
  detail::require(!input_shapes.empty(), "Add", "at least one input", "none");
  for (std::size_t k = 1; k < input_shapes.size(); ++k) {
    if (input_shapes[k] != input_shapes[0]) {
      detail::fail("Add", "inputs of one shape (input 0 is " + to_string(input_shapes[0]) + ")",
                   to_string(input_shapes[k]) + " for input " + std::to_string(k));
    }
  }
  return input_shapes[0];
}

template <typename T>
void Add<T>::merge(std::span<const Tensor<T>* const> inputs, Tensor<T>& output) {
  // Summed in input order, left to right: the same bits on every run.
  T* const y = output.data();
  const T* const x0 = inputs[0]->data();
  std::copy(x0, x0 + output.size(), y);
  for (std::size_t k = 1; k < inputs.size(); ++k) {
    const T* const x = inputs[k]->data();
    for (std::size_t i = 0; i < output.size(); ++i) y[i] += x[i];
  }
}

template <typename T>
void Add<T>::split(const Tensor<T>& error_tensor, std::span<Tensor<T>> input_errors) {
  for (Tensor<T>& input_error : input_errors) {
    std::copy(error_tensor.begin(), error_tensor.end(), input_error.begin());
  }
}

template class Add<float>;
template class Add<double>;

}  // namespace cnnkit
