// BatchNorm<T>: batch normalisation (Ioffe and Szegedy, 2015; the regularisation lecture), with M
// values per channel (batch x spatial positions), x_hat = (x - mean) / sqrt(var + epsilon):
//   forward:  y = scale * x_hat + shift  (training: the batch's mean and biased var; testing: the
//             running statistics, updated by every training forward with PyTorch's momentum)
//   backward: grad shift = sum of E_n, grad scale = sum of E_n x_hat (over each channel's M values)
//             E_{n-1} = scale / (M sqrt(var + epsilon)) * (M E_n - grad shift - x_hat grad scale)
// Sums run in double, each channel's by one thread in the fixed order of its kernels
// (kernels/batch_norm_kernels.hpp): the same bits on any thread count and instruction set, and
// float statistics of large batches without float's drift.
#include "cnnkit/layers/batch_norm.hpp"

#include <cmath>
#include <cstddef>
#include <string>
#include <utility>

#include "check.hpp"
#include "kernels/batch_norm_kernels.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "BatchNorm";

// Below this many input elements the loops run on one thread: starting the team costs more.
constexpr std::size_t kParallelThreshold = std::size_t{1} << 15;

std::size_t checked_channels(std::size_t channels, double momentum, double epsilon) {
  detail::require(channels > 0, kName, "channels above 0", "channels 0");
  detail::require(std::isfinite(momentum) && momentum >= 0 && momentum <= 1, kName,
                  "momentum in [0, 1]", "momentum " + detail::format_number(momentum));
  detail::require(std::isfinite(epsilon) && epsilon > 0, kName, "a finite epsilon above 0",
                  "epsilon " + detail::format_number(epsilon));
  return channels;
}

// An (already checked) input as channels of M values: element (n, c, s) is at
// (n * channels + c) * spatial + s; a (batch, features) input has spatial 1.
kernels::ChannelLayout layout_of(const Shape& shape) {
  return {shape[0], shape[1], element_count(shape) / (shape[0] * shape[1])};
}

}  // namespace

template <typename T>
BatchNorm<T>::BatchNorm(std::size_t channels, double momentum, double epsilon)
    : channels_(checked_channels(channels, momentum, epsilon)),
      momentum_(momentum),
      epsilon_(epsilon),
      scale_("scale", Tensor<T>({channels}, T(1)), ParameterKind::kNormalization),
      shift_("shift", Tensor<T>({channels}, T(0)), ParameterKind::kNormalization),
      running_mean_({channels}, T(0)),
      running_var_({channels}, T(1)) {}

template <typename T>
std::vector<LayerBuffer<T>> BatchNorm<T>::buffers() {
  return {{"running_mean", &running_mean_}, {"running_var", &running_var_}};
}

template <typename T>
void BatchNorm<T>::initialize(Initializer<T>& /*weights_init*/, Initializer<T>& /*bias_init*/) {
  scale_.value = Tensor<T>({channels_}, T(1));
  shift_.value = Tensor<T>({channels_}, T(0));
  running_mean_ = Tensor<T>({channels_}, T(0));
  running_var_ = Tensor<T>({channels_}, T(1));
}

template <typename T>
Shape BatchNorm<T>::output_shape(const Shape& input_shape) const {
  detail::require(input_shape.size() >= 2, kName,
                  "input of rank 2 (batch, features) or more (batch, channels, spatial axes...)",
                  input_shape);
  if (input_shape[1] != channels_) {
    detail::fail(kName, "input with " + std::to_string(channels_) + " channels (axis 1)",
                 to_string(input_shape));
  }
  detail::require(element_count(input_shape) > 0, kName, "input with nonzero sizes", input_shape);
  return input_shape;
}

template <typename T>
std::size_t BatchNorm<T>::forward_flops(const Shape& input_shape) const {
  // Inference folds into y = a x + b per element: one multiply-add.
  return 2 * element_count(output_shape(input_shape));
}

template <typename T>
void BatchNorm<T>::check_state_shapes() const {
  const Shape shape{channels_};
  detail::require_shape(scale_.value.shape(), shape, kName, "scale");
  detail::require_shape(shift_.value.shape(), shape, kName, "shift");
  detail::require_shape(running_mean_.shape(), shape, kName, "running_mean");
  detail::require_shape(running_var_.shape(), shape, kName, "running_var");
}

template <typename T>
Tensor<T> BatchNorm<T>::compute_output(const Tensor<T>& input) {
  const Shape shape = output_shape(input.shape());
  check_state_shapes();
  const kernels::ChannelLayout layout = layout_of(shape);
  const std::size_t count = layout.per_channel();
  const bool training = !this->testing_phase();
  if (training && count == 1) {
    detail::fail(kName,
                 "more than one value per channel in the training phase (batch x spatial size "
                 "above 1, else there is no variance)",
                 "input " + to_string(shape));
  }
  if (training) {
    mean_.resize(channels_);  // grow once; a steady channel count reuses them
    inv_std_.resize(channels_);
  }
  Tensor<T> output = this->new_output(shape);  // written in full
  const T* x = input.data();
  T* y = output.data();
  const double momentum = momentum_;
  runtime::parallel_for(channels_, input.size() >= kParallelThreshold, [&](std::size_t c) {
    double mean = 0;
    double variance = 0;
    if (training) {
      mean = kernels::channel_sum(x, layout, c) / static_cast<double>(count);
      // Biased: what normalises the batch.
      variance =
          kernels::channel_centred_square_sum(x, layout, c, mean) / static_cast<double>(count);
      mean_[c] = mean;
      inv_std_[c] = 1.0 / std::sqrt(variance + epsilon_);
      const double unbiased =
          variance * static_cast<double>(count) / static_cast<double>(count - 1);
      running_mean_[c] =
          static_cast<T>((1 - momentum) * static_cast<double>(running_mean_[c]) + momentum * mean);
      running_var_[c] = static_cast<T>((1 - momentum) * static_cast<double>(running_var_[c]) +
                                       momentum * unbiased);
    } else {
      mean = static_cast<double>(running_mean_[c]);
      variance = static_cast<double>(running_var_[c]);
    }
    // y = a x + b with a = scale / sqrt(var + epsilon), b = shift - a mean.
    const double a = static_cast<double>(scale_.value[c]) / std::sqrt(variance + epsilon_);
    const T factor = static_cast<T>(a);
    const T offset = static_cast<T>(static_cast<double>(shift_.value[c]) - a * mean);
    kernels::channel_affine(x, y, layout, c, factor, offset);
  });
  return output;
}

template <typename T>
Tensor<T> BatchNorm<T>::forward(const Tensor<T>& input) {
  Tensor<T> output = compute_output(input);
  this->keep_input(input_, input);
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> BatchNorm<T>::forward_handed_over(Tensor<T>&& input) {
  Tensor<T> output = compute_output(input);
  this->keep_input(input_, std::move(input));
  return output;
}

template <typename T>
Tensor<T> BatchNorm<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();  // a training-phase forward() kept input_, mean_, inv_std_
  detail::require_shape(error_tensor.shape(), input_.shape(), kName, "error_tensor");
  check_state_shapes();
  const Shape shape{channels_};
  if (scale_.gradient.shape() != shape) scale_.gradient = Tensor<T>(shape);
  if (shift_.gradient.shape() != shape) shift_.gradient = Tensor<T>(shape);
  const kernels::ChannelLayout layout = layout_of(input_.shape());
  const double count = static_cast<double>(layout.per_channel());
  Tensor<T> input_error = this->new_input_error(input_.shape());  // written in full
  const T* x = input_.data();
  const T* e = error_tensor.data();
  T* dx = input_error.data();
  runtime::parallel_for(channels_, input_.size() >= kParallelThreshold, [&](std::size_t c) {
    const double mean = mean_[c];
    const double inv_std = inv_std_[c];
    double error_sum = 0;
    double error_x_hat_sum = 0;
    kernels::channel_error_sums(x, e, layout, c, mean, inv_std, error_sum, error_x_hat_sum);
    shift_.gradient[c] = static_cast<T>(error_sum);
    scale_.gradient[c] = static_cast<T>(error_x_hat_sum);
    // E_{n-1} = k (E_n - error_sum / M - x_hat error_x_hat_sum / M), k = scale / sqrt(var + eps).
    const double k = static_cast<double>(scale_.value[c]) * inv_std;
    const double mean_error = error_sum / count;
    const double x_hat_weight = error_x_hat_sum / count * inv_std;
    kernels::channel_input_error(x, e, dx, layout, c, mean, k, mean_error, x_hat_weight);
  });
  // Each parameter on its own, as Conv and FullyConnected do: apply_updates() would build the
  // vector of parameters() on every step. Inside the engine the optimizers run after the whole
  // backward pass instead.
  if (!this->updates_deferred()) {
    scale_.apply_update();
    shift_.apply_update();
  }
  this->note_backward();
  return input_error;
}

template class BatchNorm<float>;
template class BatchNorm<double>;

}  // namespace cnnkit
