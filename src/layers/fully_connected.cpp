// FullyConnected<T>: the fully connected layer of the basic framework the lecture builds on, for a
// batch x of shape (batch, input_size) stored row by row:
//   forward:  y = x W + b                 (the lecture's y = W x with the bias as an extra input 1)
//   backward: E_{n-1} = E_n W^T           (error for the layer below, with forward's W)
//             grad W  = x^T E_n           (lecture: nabla W = E_n x^T, transposed for row-major)
//             grad b  = sum over the batch of E_n
// Only then do the weights and the bias take their optimizer steps.
// The arithmetic, which products run and how they share the threads: kernels/fully_connected.hpp.
#include "cnnkit/layers/fully_connected.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "kernels/fully_connected.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "FullyConnected";

std::size_t checked_size(std::size_t size, const char* what) {
  detail::require(size > 0, kName, std::string(what) + " above 0", std::to_string(size));
  return size;
}

// Uniform in [0, 1) from the library's seeded engine (the lecture's "Uniform" initializer).
template <typename T>
Tensor<T> uniform_random(const Shape& shape, std::size_t fan_in, std::size_t fan_out) {
  UniformRandom<T> uniform;
  return uniform.initialize(shape, fan_in, fan_out);
}

}  // namespace

template <typename T>
FullyConnected<T>::FullyConnected(std::size_t input_size, std::size_t output_size)
    : input_size_(checked_size(input_size, "input_size")),
      output_size_(checked_size(output_size, "output_size")),
      weights_("weights", uniform_random<T>({input_size, output_size}, input_size, output_size)),
      bias_("bias", uniform_random<T>({1, output_size}, input_size, output_size)) {}

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
void FullyConnected<T>::check_parameter_shapes() const {
  // parameters() hands out the tensors themselves; the matrix products below trust these shapes.
  detail::require_shape(weights_.value.shape(), {input_size_, output_size_}, kName, "weights");
  detail::require_shape(bias_.value.shape(), {1, output_size_}, kName, "bias");
}

template <typename T>
Tensor<T> FullyConnected<T>::compute_output(const Tensor<T>& input) {
  const Shape shape = output_shape(input.shape());
  check_parameter_shapes();
  const std::size_t batch = shape[0];
  Tensor<T> output = this->new_output(shape);  // written in full below
  // y = x W + b (kernels/fully_connected.hpp picks the products and shares them among threads).
  kernels::fully_connected_forward<T>({batch, input_size_, output_size_}, input.data(),
                                      weights_.value.data(), bias_.value.data(), output.data(),
                                      forward_workspace_);
  return output;
}

template <typename T>
Tensor<T> FullyConnected<T>::forward(const Tensor<T>& input) {
  Tensor<T> output = compute_output(input);
  this->keep_input(input_, input);
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> FullyConnected<T>::forward_handed_over(Tensor<T>&& input) {
  Tensor<T> output = compute_output(input);
  this->keep_input(input_, std::move(input));
  return output;
}

template <typename T>
Tensor<T> FullyConnected<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();  // a training-phase forward() kept input_ of rank 2
  const std::size_t batch = input_.dim(0);
  detail::require_shape(error_tensor.shape(), {batch, output_size_}, kName, "error_tensor");
  check_parameter_shapes();
  if (weights_.gradient.shape() != weights_.value.shape()) {
    weights_.gradient = Tensor<T>(weights_.value.shape());
  }
  if (bias_.gradient.shape() != bias_.value.shape()) {
    bias_.gradient = Tensor<T>(bias_.value.shape());
  }

  // E_{n-1} = E_n W^T with the weights forward() used, grad W = x^T E_n, grad b = the sum of
  // E_n over the batch (kernels/fully_connected.hpp). E_{n-1} is written in full, or skipped,
  // its values left unspecified, when the layer below needs no error.
  Tensor<T> input_error = this->new_input_error({batch, input_size_});
  kernels::fully_connected_backward<T>(
      {batch, input_size_, output_size_}, input_.data(), weights_.value.data(), error_tensor.data(),
      this->input_error_needed() ? input_error.data() : nullptr, weights_.gradient.data(),
      bias_.gradient.data(), backward_workspace_);
  // Layer::apply_updates() without building the parameters() list (no allocation per step).
  if (!this->updates_deferred()) {
    weights_.apply_update();
    bias_.apply_update();
  }
  this->note_backward();
  return input_error;
}

template <typename T>
void FullyConnected<T>::initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) {
  // Lecture: fan_in = input size, fan_out = output size, for the weights and the bias alike.
  Tensor<T> weights =
      weights_init.initialize({input_size_, output_size_}, input_size_, output_size_);
  Tensor<T> bias = bias_init.initialize({1, output_size_}, input_size_, output_size_);
  detail::require_shape(weights.shape(), {input_size_, output_size_}, kName,
                        "weights from the initializer");
  detail::require_shape(bias.shape(), {1, output_size_}, kName, "bias from the initializer");
  weights_.value = std::move(weights);
  bias_.value = std::move(bias);
}

template <typename T>
Tensor<T> FullyConnected<T>::weights() const {
  check_parameter_shapes();
  Tensor<T> combined({input_size_ + 1, output_size_});
  std::copy(weights_.value.begin(), weights_.value.end(), combined.begin());
  std::copy(bias_.value.begin(), bias_.value.end(), combined.begin() + weights_.value.size());
  return combined;
}

template <typename T>
void FullyConnected<T>::set_weights(const Tensor<T>& weights_with_bias_row) {
  detail::require_shape(weights_with_bias_row.shape(), {input_size_ + 1, output_size_}, kName,
                        "weights (with the bias as last row)");
  const auto bias_row = weights_with_bias_row.begin() + input_size_ * output_size_;
  // New tensors rather than copies into the old buffers: those may have been reshaped through
  // parameters().
  weights_.value = Tensor<T>({input_size_, output_size_},
                             std::vector<T>(weights_with_bias_row.begin(), bias_row));
  bias_.value = Tensor<T>({1, output_size_}, std::vector<T>(bias_row, weights_with_bias_row.end()));
}

template <typename T>
Tensor<T> FullyConnected<T>::gradient_weights() const {
  detail::require_shape(weights_.gradient.shape(), {input_size_, output_size_}, kName,
                        "weights gradient");
  detail::require_shape(bias_.gradient.shape(), {1, output_size_}, kName, "bias gradient");
  Tensor<T> combined({input_size_ + 1, output_size_});
  std::copy(weights_.gradient.begin(), weights_.gradient.end(), combined.begin());
  std::copy(bias_.gradient.begin(), bias_.gradient.end(),
            combined.begin() + weights_.gradient.size());
  return combined;
}

template class FullyConnected<float>;
template class FullyConnected<double>;

}  // namespace cnnkit
