#include "cnnkit/layers/concat.hpp"

#include <algorithm>
#include <string>

#include "check.hpp"

namespace cnnkit {

namespace {

// Elements of one sample after axis 1 (1 for a (batch, features) input).
std::size_t inner_size(const Shape& shape) {
  std::size_t inner = 1;
  for (std::size_t axis = 2; axis < shape.size(); ++axis) inner *= shape[axis];
  return inner;
}

}  // namespace

template <typename T>
Shape Concat<T>::output_shape(std::span<const Shape> input_shapes) const {
  detail::require(!input_shapes.empty(), "Concat", "at least one input", "none");
  const Shape& first = input_shapes[0];
  detail::require(first.size() >= 2, "Concat", "inputs of rank 2 or more (batch, channels, ...)",
                  first);
  Shape output = first;
  for (std::size_t k = 1; k < input_shapes.size(); ++k) {
    const Shape& shape = input_shapes[k];
    bool fits = shape.size() == first.size();
    for (std::size_t axis = 0; fits && axis < shape.size(); ++axis) {
      fits = axis == 1 || shape[axis] == first[axis];
    }
    if (!fits) {
      detail::fail(
          "Concat",
          "inputs that differ only in axis 1, the channels (input 0 is " + to_string(first) + ")",
          to_string(shape) + " for input " + std::to_string(k));
    }
    output[1] += shape[1];
  }
  return output;
}

template <typename T>
void Concat<T>::merge(std::span<const Tensor<T>* const> inputs, Tensor<T>& output) {
  const std::size_t batch = output.dim(0);
  if (batch == 0) return;
  const std::size_t output_block = output.size() / batch;  // one sample of the output
  std::size_t offset = 0;
  for (const Tensor<T>* input : inputs) {
    const std::size_t block = input->dim(1) * inner_size(input->shape());
    for (std::size_t n = 0; n < batch; ++n) {
      const T* const x = input->data() + n * block;
      std::copy(x, x + block, output.data() + n * output_block + offset);
    }
    offset += block;
  }
}

template <typename T>
void Concat<T>::split(const Tensor<T>& error_tensor, std::span<Tensor<T>> input_errors) {
  const std::size_t batch = error_tensor.dim(0);
  if (batch == 0) return;
  const std::size_t output_block = error_tensor.size() / batch;
  std::size_t offset = 0;
  for (Tensor<T>& input_error : input_errors) {
    const std::size_t block = input_error.dim(1) * inner_size(input_error.shape());
    for (std::size_t n = 0; n < batch; ++n) {
      const T* const e = error_tensor.data() + n * output_block + offset;
      std::copy(e, e + block, input_error.data() + n * block);
    }
    offset += block;
  }
}

template class Concat<float>;
template class Concat<double>;

}  // namespace cnnkit
