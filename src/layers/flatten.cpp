// Flatten<T>: the lecture's flatten layer, which "linearizes each element in a batch":
//   forward:  (batch, d1, d2, ...) -> (batch, d1*d2*...)
//   backward: the error takes the input's shape back (the values are not touched)
#include "cnnkit/layers/flatten.hpp"

#include <cstddef>
#include <utility>

#include "check.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "Flatten";

}  // namespace

template <typename T>
Shape Flatten<T>::output_shape(const Shape& input_shape) const {
  detail::require(input_shape.size() >= 2, kName, "input of rank 2 or more (batch first)",
                  input_shape);
  // element_count refuses a product past std::size_t: shape inference hands in shapes no tensor
  // has checked yet.
  return {input_shape[0], element_count(Shape(input_shape.begin() + 1, input_shape.end()))};
}

template <typename T>
Tensor<T> Flatten<T>::forward_handed_over(Tensor<T>&& input) {
  Shape shape = output_shape(input.shape());
  input_shape_ = input.shape();
  // Row-major storage already lists each sample's values in flattened order: only the shape
  // changes, and a handed-over tensor keeps its buffer.
  return std::move(input).reshaped(std::move(shape));
}

template <typename T>
Tensor<T> Flatten<T>::forward(const Tensor<T>& input) {
  return forward(Tensor<T>(input));
}

template <typename T>
Tensor<T> Flatten<T>::backward_handed_over(Tensor<T>&& error_tensor) {
  // The hand-over backward() checked that forward() ran: input_shape_ is set.
  detail::require_shape(error_tensor.shape(), output_shape(input_shape_), kName, "error_tensor");
  return std::move(error_tensor).reshaped(input_shape_);
}

template <typename T>
Tensor<T> Flatten<T>::backward(const Tensor<T>& error_tensor) {
  return backward(Tensor<T>(error_tensor));
}

template class Flatten<float>;
template class Flatten<double>;

}  // namespace cnnkit
