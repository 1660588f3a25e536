#include "cnnkit/layers/fully_connected.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>

#include "check.hpp"
#include "cnnkit/random.hpp"
#include "kernels/gemm.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "FullyConnected";

// A tensor of this shape, uniform in [0, 1) from the library's engine.
template <typename T>
Tensor<T> uniform_tensor(const Shape& shape) {
  Tensor<T> tensor(shape);
  std::uniform_real_distribution<T> uniform(T(0), T(1));
  for (T& value : tensor) {
    // std::uniform_real_distribution may round up to exactly 1 (LWG 2524); keep [0, 1).
    value = std::min(uniform(random_engine()), std::nextafter(T(1), T(0)));
  }
  return tensor;
}

std::size_t checked_size(std::size_t size, const char* what) {
  detail::require(size > 0, kName, std::string(what) + " above 0", std::to_string(size));
  return size;
}

}  // namespace

template <typename T>
FullyConnected<T>::FullyConnected(std::size_t input_size, std::size_t output_size)
    : input_size_(checked_size(input_size, "input_size")),
      output_size_(checked_size(output_size, "output_size")),
      weights_("weights", uniform_tensor<T>({input_size, output_size})),
      bias_("bias", uniform_tensor<T>({1, output_size})) {}

template <typename T>
Shape FullyConnected<T>::output_shape(const Shape& input_shape) const {
  if (input_shape.size() != 2 || input_shape[1] != input_size_) {
    detail::fail(kName, "input of shape [batch, " + std::to_string(input_size_) + "]",
                 to_string(input_shape));
  }
  return {input_shape[0], output_size_};
}

template <typename T>
std::size_t FullyConnected<T>::forward_flops(const Shape& input_shape) const {
  const std::size_t batch = output_shape(input_shape)[0];
  return 2 * batch * input_size_ * output_size_;
}

template <typename T>
Tensor<T> FullyConnected<T>::forward(const Tensor<T>& input) {
  const Shape shape = output_shape(input.shape());
  const std::size_t batch = shape[0];
  // Start every row at the bias, then add x W on top (the lecture's extra input column of ones).
  Tensor<T> output(shape);
  for (std::size_t n = 0; n < batch; ++n) {
    std::copy(bias_.value.begin(), bias_.value.end(), output.data() + n * output_size_);
  }
  // y = x W + b: (batch, in) x (in, out).
  kernels::gemm<T>(kernels::Transpose::kNo, kernels::Transpose::kNo, batch, output_size_,
                   input_size_, T(1), input.data(), weights_.value.data(), T(1), output.data());
  input_ = input;
  return output;
}

template <typename T>
Tensor<T> FullyConnected<T>::backward(const Tensor<T>& error_tensor) {
  // input_ keeps its default shape [0] (rank 1) until forward() has run.
  detail::require_forward_done(input_.rank() == 2, kName);
  const std::size_t batch = input_.dim(0);
  detail::require_shape(error_tensor.shape(), {batch, output_size_}, kName, "error_tensor");

  // E_{n-1} = E_n W^T: (batch, out) x (out, in), with the weights forward() used.
  Tensor<T> input_error({batch, input_size_});
  kernels::gemm<T>(kernels::Transpose::kNo, kernels::Transpose::kYes, batch, input_size_,
                   output_size_, T(1), error_tensor.data(), weights_.value.data(), T(0),
                   input_error.data());
  // grad W = X^T E_n: (in, batch) x (batch, out).
  kernels::gemm<T>(kernels::Transpose::kYes, kernels::Transpose::kNo, input_size_, output_size_,
                   batch, T(1), input_.data(), error_tensor.data(), T(0), weights_.gradient.data());
  // grad b = column sums of E_n (the bias row sees an input of 1 in every sample).
  bias_.gradient.fill(T(0));
  for (std::size_t n = 0; n < batch; ++n) {
    const T* row = error_tensor.data() + n * output_size_;
    for (std::size_t j = 0; j < output_size_; ++j) bias_.gradient[j] += row[j];
  }
  this->apply_updates();
  return input_error;
}

template <typename T>
void FullyConnected<T>::initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) {
  // Lecture: fan_in = input size, fan_out = output size, for the weights and the bias alike.
  Tensor<T> weights =
      weights_init.initialize({input_size_, output_size_}, input_size_, output_size_);
  Tensor<T> bias = bias_init.initialize({1, output_size_}, input_size_, output_size_);
  detail::require_shape(weights.shape(), weights_.value.shape(), kName,
                        "weights from the initializer");
  detail::require_shape(bias.shape(), bias_.value.shape(), kName, "bias from the initializer");
  weights_.value = std::move(weights);
  bias_.value = std::move(bias);
}

template <typename T>
Tensor<T> FullyConnected<T>::weights() const {
  Tensor<T> combined({input_size_ + 1, output_size_});
  std::copy(weights_.value.begin(), weights_.value.end(), combined.begin());
  std::copy(bias_.value.begin(), bias_.value.end(), combined.begin() + weights_.value.size());
  return combined;
}

template <typename T>
void FullyConnected<T>::set_weights(const Tensor<T>& weights_with_bias_row) {
  detail::require_shape(weights_with_bias_row.shape(), {input_size_ + 1, output_size_}, kName,
                        "weights (with the bias as last row)");
  const T* bias_row = weights_with_bias_row.data() + weights_.value.size();
  std::copy(weights_with_bias_row.data(), bias_row, weights_.value.begin());
  std::copy(bias_row, bias_row + output_size_, bias_.value.begin());
}

template <typename T>
Tensor<T> FullyConnected<T>::gradient_weights() const {
  Tensor<T> combined({input_size_ + 1, output_size_});
  std::copy(weights_.gradient.begin(), weights_.gradient.end(), combined.begin());
  std::copy(bias_.gradient.begin(), bias_.gradient.end(),
            combined.begin() + weights_.gradient.size());
  return combined;
}

template class FullyConnected<float>;
template class FullyConnected<double>;

}  // namespace cnnkit
