// SoftMax<T> (the basic framework the lecture builds on), row by row over (batch, categories):
//   forward:  y_k = exp(x_k - max x) / sum_j exp(x_j - max x)
//   backward: E_{n-1} = y * (E_n - sum_j E_n,j y_j)
#include "cnnkit/layers/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>

#include "check.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "SoftMax";

}  // namespace

template <typename T>
Shape SoftMax<T>::output_shape(const Shape& input_shape) const {
  detail::require(input_shape.size() == 2 && input_shape[1] > 0, kName,
                  "input of shape [batch, categories] with categories above 0", input_shape);
  return input_shape;
}

template <typename T>
std::size_t SoftMax<T>::forward_flops(const Shape& input_shape) const {
  // Per element: subtract the maximum, exp, add to the sum, divide.
  return 4 * element_count(output_shape(input_shape));
}

template <typename T>
void SoftMax<T>::compute(const Tensor<T>& input, T* y_all) const {
  const Shape shape = output_shape(input.shape());
  const std::size_t batch = shape[0];
  const std::size_t categories = shape[1];
  for (std::size_t n = 0; n < batch; ++n) {
    const T* x = input.data() + n * categories;
    T* y = y_all + n * categories;  // may be x itself: each x_k is read before y_k is written
    // exp(x_k - max x) <= 1, so no overflow; the shift cancels in the quotient.
    const T row_max = *std::max_element(x, x + categories);
    T sum = 0;
    for (std::size_t k = 0; k < categories; ++k) {
      y[k] = std::exp(x[k] - row_max);
      sum += y[k];
    }
    for (std::size_t k = 0; k < categories; ++k) y[k] /= sum;
  }
}

template <typename T>
Tensor<T> SoftMax<T>::forward(const Tensor<T>& input) {
  Tensor<T> output = Tensor<T>::uninitialized(output_shape(input.shape()));  // written in full
  compute(input, output.data());
  output_ = output;  // copy-assignment reuses the buffer while the shape stays
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> SoftMax<T>::forward_handed_over(Tensor<T>&& input) {
  compute(input, input.data());  // handed over: computed in place
  output_ = input;
  return std::move(input);
}

template <typename T>
void SoftMax<T>::pass_errors(const Tensor<T>& error_tensor, T* input_error) const {
  // The callers checked the calls' order: forward() set output_.
  detail::require_shape(error_tensor.shape(), output_.shape(), kName, "error_tensor");
  const std::size_t batch = output_.dim(0);
  const std::size_t categories = output_.dim(1);
  for (std::size_t n = 0; n < batch; ++n) {
    const T* y = output_.data() + n * categories;
    const T* e = error_tensor.data() + n * categories;
    T* input_e = input_error + n * categories;  // may be e itself: the sum is taken first
    // Lecture: E_{n-1} = y * (E_n - sum_j E_n,j y_j), row by row.
    T weighted_sum = 0;
    for (std::size_t k = 0; k < categories; ++k) weighted_sum += e[k] * y[k];
    for (std::size_t k = 0; k < categories; ++k) input_e[k] = y[k] * (e[k] - weighted_sum);
  }
}

template <typename T>
Tensor<T> SoftMax<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();
  Tensor<T> input_error = Tensor<T>::uninitialized(error_tensor.shape());  // written in full
  pass_errors(error_tensor, input_error.data());
  this->note_backward();
  return input_error;
}

template <typename T>
Tensor<T> SoftMax<T>::backward_handed_over(Tensor<T>&& error_tensor) {
  pass_errors(error_tensor, error_tensor.data());  // handed over: computed in place
  return std::move(error_tensor);
}

template class SoftMax<float>;
template class SoftMax<double>;

}  // namespace cnnkit
