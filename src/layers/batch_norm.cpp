// BatchNorm<T>: batch normalisation (Ioffe and Szegedy, 2015; the regularisation lecture), with M
// values per channel (batch x spatial positions), x_hat = (x - mean) / sqrt(var + epsilon):
//   forward:  y = scale * x_hat + shift  (training: the batch's mean and biased var; testing: the
//             running statistics, updated by every training forward with PyTorch's momentum)
//   backward: grad shift = sum of E_n, grad scale = sum of E_n x_hat (over each channel's M values)
//             E_{n-1} = scale / (M sqrt(var + epsilon)) * (M E_n - grad shift - x_hat grad scale)
// Each pass runs over the whole tensor in memory order (kernels/batch_norm_kernels.hpp): the
// statistics in one pass, as sums of d = x - K and d^2 with K the channel's first value (the
// variance from them loses no precision unless the mean lies many standard deviations from K),
// then y; backward's two sums in one pass, then the input error. Sums run in double, per plane
// (one sample's values in one channel) in a fixed order, then over the samples in order: the
// same bits on any thread count and instruction set, and float statistics of large batches
// without float's drift. With fused_relu the kernels also apply a ReLU to y and its mask to the
// error that comes back (batch_norm_kernels.hpp): a BatchNorm followed by a ReLU in two passes
// fewer each way.
#include "cnnkit/layers/batch_norm.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "kernels/batch_norm_kernels.hpp"
#include "kernels/chunks.hpp"

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

// An (already checked) input as planes: plane n * channels + c holds the values of sample n in
// channel c; a (batch, features) input has spatial 1.
kernels::PlaneRange planes_of(const Shape& shape) {
  const std::size_t planes = shape[0] * shape[1];
  return {shape[1], element_count(shape) / planes, 0, planes};
}

// body(range) over the planes, split among the threads for a large input.
template <typename Body>
void for_plane_ranges(const kernels::PlaneRange& all, const Body& body) {
  kernels::for_chunks(all.end, all.end * all.spatial >= kParallelThreshold,
                      [&](std::size_t begin, std::size_t end) {
                        kernels::PlaneRange range = all;
                        range.begin = begin;
                        range.end = end;
                        body(range);
                      });
}

// Channel c's sums j (0 or 1) of the per-plane pairs, over the samples in order.
double channel_sum(const std::vector<double>& plane_sums, const kernels::PlaneRange& all,
                   std::size_t c, std::size_t j) {
  double sum = 0;
  for (std::size_t p = c; p < all.end; p += all.channels) sum += plane_sums[2 * p + j];
  return sum;
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
  sync_.forward_synchronised = sync_.moments_set && !this->testing_phase();
  if (sync_.forward_synchronised) return synchronised_output(input);  // batch_norm_sync.cpp
  const Shape shape = output_shape(input.shape());
  check_state_shapes();
  const kernels::PlaneRange planes = planes_of(shape);
  const std::size_t count = shape[0] * planes.spatial;  // values per channel
  const bool training = !this->testing_phase();
  if (training && count == 1) {
    detail::fail(kName,
                 "more than one value per channel in the training phase (batch x spatial size "
                 "above 1, else there is no variance)",
                 "input " + to_string(shape));
  }
  // Grown once; a steady shape reuses them.
  mean_.resize(channels_);
  inv_std_.resize(channels_);
  factor_.resize(channels_);
  offset_.resize(channels_);
  const T* x = input.data();
  if (training) {
    for (std::size_t c = 0; c < channels_; ++c)
      mean_[c] = static_cast<double>(x[c * planes.spatial]);
    plane_sums_.resize(2 * planes.end);
    for_plane_ranges(planes, [&](const kernels::PlaneRange& range) {
      kernels::shifted_sums(x, mean_.data(), range, plane_sums_.data());
    });
  }
  const double m = static_cast<double>(count);
  const double momentum = momentum_;
  for (std::size_t c = 0; c < channels_; ++c) {
    double mean = 0;
    double variance = 0;
    if (training) {
      const double shifted_mean = channel_sum(plane_sums_, planes, c, 0) / m;
      mean = mean_[c] + shifted_mean;
      // Biased: what normalises the batch.
      variance =
          std::max(channel_sum(plane_sums_, planes, c, 1) / m - shifted_mean * shifted_mean, 0.0);
      mean_[c] = mean;
      inv_std_[c] = 1.0 / std::sqrt(variance + epsilon_);
      const double unbiased = variance * m / (m - 1);
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
    factor_[c] = static_cast<T>(a);
    offset_[c] = static_cast<T>(static_cast<double>(shift_.value[c]) - a * mean);
  }
  Tensor<T> output = this->new_output(shape);  // written in full
  T* y = output.data();
  for_plane_ranges(planes, [&](const kernels::PlaneRange& range) {
    kernels::affine(x, y, factor_.data(), offset_.data(), fused_relu_, range);
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
  // After a forward() with the statistics of a batch spread over passes: batch_norm_sync.cpp.
  if (sync_.forward_synchronised) return synchronised_backward(error_tensor);
  this->require_fresh_forward();  // a training-phase forward() kept input_, mean_, inv_std_
  detail::require_shape(error_tensor.shape(), input_.shape(), kName, "error_tensor");
  check_state_shapes();
  const Shape shape{channels_};
  if (scale_.gradient.shape() != shape) scale_.gradient = Tensor<T>(shape);
  if (shift_.gradient.shape() != shape) shift_.gradient = Tensor<T>(shape);
  const kernels::PlaneRange planes = planes_of(input_.shape());
  const double count = static_cast<double>(input_.dim(0) * planes.spatial);
  Tensor<T> input_error = this->new_input_error(input_.shape());  // written in full
  const T* x = input_.data();
  const T* e = error_tensor.data();
  T* dx = input_error.data();
  plane_sums_.resize(2 * planes.end);
  // The fused ReLU's mask: the sign of forward's y = factor x + offset.
  const kernels::ReluGate<T> gate =
      fused_relu_ ? kernels::ReluGate<T>{factor_.data(), offset_.data()} : kernels::ReluGate<T>{};
  for_plane_ranges(planes, [&](const kernels::PlaneRange& range) {
    kernels::error_sums(x, e, mean_.data(), gate, range, plane_sums_.data());
  });
  // Per channel: k, mean_error and x_hat_weight of the input error, in that order.
  coefficients_.resize(3 * channels_);
  double* k = coefficients_.data();
  double* mean_error = k + channels_;
  double* x_hat_weight = mean_error + channels_;
  for (std::size_t c = 0; c < channels_; ++c) {
    const double inv_std = inv_std_[c];
    const double error_sum = channel_sum(plane_sums_, planes, c, 0);
    const double error_x_hat_sum = channel_sum(plane_sums_, planes, c, 1) * inv_std;
    shift_.gradient[c] = static_cast<T>(error_sum);
    scale_.gradient[c] = static_cast<T>(error_x_hat_sum);
    // E_{n-1} = k (E_n - error_sum / M - x_hat error_x_hat_sum / M), k = scale / sqrt(var + eps).
    k[c] = static_cast<double>(scale_.value[c]) * inv_std;
    mean_error[c] = error_sum / count;
    x_hat_weight[c] = error_x_hat_sum / count * inv_std;
  }
  for_plane_ranges(planes, [&](const kernels::PlaneRange& range) {
    kernels::input_error(x, e, dx, mean_.data(), k, mean_error, x_hat_weight, gate, range);
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
