#include "cnnkit/layers/add.hpp"

#include <algorithm>
#include <string>

#include "check.hpp"
#include "kernels/chunks.hpp"

namespace cnnkit {

namespace {

// Below this many elements the loops run on one thread: starting the team costs more.
constexpr std::size_t kParallelElements = std::size_t{1} << 16;

}  // namespace

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
  // Summed in input order, left to right, each element by one thread: the same bits on every run
  // and thread count. One pass over the output: the first two inputs, then each further one.
  T* const y = output.data();
  const T* const x0 = inputs[0]->data();
  const T* const x1 = inputs.size() > 1 ? inputs[1]->data() : nullptr;
  const std::size_t n = output.size();
  kernels::for_chunks(n, n >= kParallelElements, [&](std::size_t begin, std::size_t end) {
    if (x1 == nullptr) {
      std::copy(x0 + begin, x0 + end, y + begin);
    } else {
      for (std::size_t i = begin; i < end; ++i) y[i] = x0[i] + x1[i];
    }
    for (std::size_t k = 2; k < inputs.size(); ++k) {
      const T* const x = inputs[k]->data();
      for (std::size_t i = begin; i < end; ++i) y[i] += x[i];
    }
  });
}

template <typename T>
void Add<T>::split(const Tensor<T>& error_tensor, std::span<Tensor<T>> input_errors) {
  const T* const error = error_tensor.data();
  const std::size_t n = error_tensor.size();
  kernels::for_chunks(n, n >= kParallelElements, [&](std::size_t begin, std::size_t end) {
    for (Tensor<T>& input_error : input_errors) {
      std::copy(error + begin, error + end, input_error.data() + begin);
    }
  });
}

template class Add<float>;
template class Add<double>;

}  // namespace cnnkit
