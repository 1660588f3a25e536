// BatchNorm's synchronised passes (batch_norm.hpp, set_batch_moments): the statistics of a batch
// spread over several passes. Each part's sums run per channel in memory order, in double, as the
// layer's own; the parts are added up by the caller (GroupedStep: in the fixed tree of
// fixed_tree_sum.hpp), so the statistics have the same bits however the batch is spread.
//
// The sums are shifted by the running mean K: sum (x - K) and sum (x - K)^2 give the mean and the
// variance in one collective call, where the layer's own two passes (the mean, then the squares
// about it) would need two. The shift is known everywhere before the pass and follows the batch
// means, so x - K stays near the spread of the values and the variance S2 / M - (S1 / M)^2 loses
// few digits to cancellation (in double, far below float's).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include "check.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "BatchNorm";
// Below this many elements the loops run on one thread: starting the team costs more.
constexpr std::size_t kTeamThreshold = std::size_t{1} << 15;

// body(flat index) over channel c's values of a (batch, channels, spatial...) tensor, in memory
// order.
template <typename Body>
void for_each_of_channel(const Shape& shape, std::size_t c, Body&& body) {
  const std::size_t channels = shape[1];
  const std::size_t spatial = element_count(shape) / (shape[0] * channels);
  for (std::size_t n = 0; n < shape[0]; ++n) {
    const std::size_t start = (n * channels + c) * spatial;
    for (std::size_t s = 0; s < spatial; ++s) body(start + s);
  }
}

void require_sums(std::span<const double> sums, std::size_t expected, const char* what) {
  detail::require(sums.size() == expected, kName,
                  std::to_string(expected) + " " + what + " (two per channel" +
                      (expected % 2 == 1 ? std::string(" and the count)") : std::string(")")),
                  std::to_string(sums.size()));
}

}  // namespace

template <typename T>
void BatchNorm<T>::partial_moments(const Tensor<T>& input, std::span<double> sums) const {
  const Shape shape = output_shape(input.shape());
  require_sums(sums, moments_size(), "moment sums");
  const T* x = input.data();
  runtime::parallel_for(channels_, input.size() >= kTeamThreshold, [&](std::size_t c) {
    const double shift = static_cast<double>(running_mean_[c]);
    double sum = 0, squares = 0;
    for_each_of_channel(shape, c, [&](std::size_t i) {
      const double d = static_cast<double>(x[i]) - shift;
      sum += d;
      squares += d * d;
    });
    sums[c] = sum;
    sums[channels_ + c] = squares;
  });
  sums[2 * channels_] = static_cast<double>(input.size() / channels_);
}

template <typename T>
void BatchNorm<T>::set_batch_moments(std::span<const double> sums) {
  require_sums(sums, moments_size(), "moment sums");
  check_state_shapes();
  const double count = sums[2 * channels_];
  if (!(count > 1)) {
    detail::fail(kName,
                 "more than one value per channel in the training phase (batch x spatial size "
                 "above 1, else there is no variance)",
                 detail::format_number(count) + " values per channel in the whole batch");
  }
  sync_.count = count;
  sync_.mean.resize(channels_);
  sync_.deviation.resize(channels_);
  for (std::size_t c = 0; c < channels_; ++c) {
    const double offset = sums[c] / count;
    const double mean = static_cast<double>(running_mean_[c]) + offset;
    const double variance = std::max(sums[channels_ + c] / count - offset * offset, 0.0);
    sync_.mean[c] = mean;
    sync_.deviation[c] = std::sqrt(variance + epsilon_);
    // As the layer's own forward(): PyTorch's momentum, the unbiased variance.
    const double unbiased = variance * count / (count - 1);
    running_mean_[c] =
        static_cast<T>((1 - momentum_) * static_cast<double>(running_mean_[c]) + momentum_ * mean);
    running_var_[c] = static_cast<T>((1 - momentum_) * static_cast<double>(running_var_[c]) +
                                     momentum_ * unbiased);
  }
  sync_.moments_set = true;
}

template <typename T>
T BatchNorm<T>::passed_error(const T* e, std::size_t c, std::size_t i) const {
  if (!fused_relu_) return e[i];
  // The fused ReLU's mask: the sign of the forward's y = factor x + offset, recomputed.
  const T value = factor_[c] * input_.data()[i] + offset_[c];
  return value > T(0) ? e[i] : T(0);
}

template <typename T>
Tensor<T> BatchNorm<T>::synchronised_output(const Tensor<T>& input) {
  const Shape shape = output_shape(input.shape());
  check_state_shapes();
  sync_.moments_set = false;  // one forward() per set_batch_moments()
  sync_.error_sums_set = false;
  mean_.resize(channels_);
  inv_std_.resize(channels_);
  factor_.resize(channels_);
  offset_.resize(channels_);
  Tensor<T> output = this->new_output(shape);  // written in full
  const T* x = input.data();
  T* y = output.data();
  runtime::parallel_for(channels_, input.size() >= kTeamThreshold, [&](std::size_t c) {
    mean_[c] = sync_.mean[c];
    inv_std_[c] = 1.0 / sync_.deviation[c];
    // y = a x + b with a = scale / sqrt(var + epsilon), b = shift - a mean, as forward().
    const double a = static_cast<double>(scale_.value[c]) / sync_.deviation[c];
    const T factor = factor_[c] = static_cast<T>(a);
    const T offset = offset_[c] =
        static_cast<T>(static_cast<double>(shift_.value[c]) - a * sync_.mean[c]);
    for_each_of_channel(shape, c, [&](std::size_t i) {
      const T value = factor * x[i] + offset;
      y[i] = fused_relu_ && !(value > T(0)) ? T(0) : value;
    });
  });
  return output;
}

template <typename T>
void BatchNorm<T>::partial_error_sums(const Tensor<T>& error_tensor, std::span<double> sums) {
  this->require_fresh_forward();
  detail::require(sync_.forward_synchronised, kName,
                  "a forward() with set_batch_moments() before partial_error_sums()",
                  "a forward() with the batch's own statistics");
  detail::require_shape(error_tensor.shape(), input_.shape(), kName, "error_tensor");
  require_sums(sums, error_sums_size(), "error sums");
  sync_.part_error_sums.resize(2 * channels_);
  const T* x = input_.data();
  const T* e = error_tensor.data();
  runtime::parallel_for(channels_, input_.size() >= kTeamThreshold, [&](std::size_t c) {
    double error_sum = 0, error_x_hat_sum = 0;
    for_each_of_channel(input_.shape(), c, [&](std::size_t i) {
      const double error = static_cast<double>(passed_error(e, c, i));
      error_sum += error;
      error_x_hat_sum += error * (static_cast<double>(x[i]) - mean_[c]) * inv_std_[c];
    });
    sums[c] = sync_.part_error_sums[c] = error_sum;
    sums[channels_ + c] = sync_.part_error_sums[channels_ + c] = error_x_hat_sum;
  });
}

template <typename T>
void BatchNorm<T>::set_batch_error_sums(std::span<const double> sums) {
  require_sums(sums, error_sums_size(), "error sums");
  sync_.error_sums.assign(sums.begin(), sums.end());
  sync_.error_sums_set = true;
}

template <typename T>
Tensor<T> BatchNorm<T>::synchronised_backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();
  detail::require_shape(error_tensor.shape(), input_.shape(), kName, "error_tensor");
  if (!sync_.error_sums_set) {
    throw std::logic_error(
        "BatchNorm: expected set_batch_error_sums() before the backward() of a forward() with "
        "set_batch_moments(), got none");
  }
  check_state_shapes();
  const Shape shape{channels_};
  if (scale_.gradient.shape() != shape) scale_.gradient = Tensor<T>(shape);
  if (shift_.gradient.shape() != shape) shift_.gradient = Tensor<T>(shape);
  Tensor<T> input_error = this->new_input_error(input_.shape());  // written in full
  const T* x = input_.data();
  const T* e = error_tensor.data();
  T* dx = input_error.data();
  const double count = sync_.count;
  runtime::parallel_for(channels_, input_.size() >= kTeamThreshold, [&](std::size_t c) {
    // This part's gradients; the input error with the whole batch's sums, as backward():
    // E_{n-1} = k (E_n - error_sum / M - x_hat error_x_hat_sum / M), k = scale / sqrt(var + eps).
    shift_.gradient[c] = static_cast<T>(sync_.part_error_sums[c]);
    scale_.gradient[c] = static_cast<T>(sync_.part_error_sums[channels_ + c]);
    const double mean = mean_[c];
    const double inv_std = inv_std_[c];
    const double k = static_cast<double>(scale_.value[c]) * inv_std;
    const double mean_error = sync_.error_sums[c] / count;
    const double x_hat_weight = sync_.error_sums[channels_ + c] / count * inv_std;
    for_each_of_channel(input_.shape(), c, [&](std::size_t i) {
      const double centred = static_cast<double>(x[i]) - mean;
      dx[i] = static_cast<T>(
          k * (static_cast<double>(passed_error(e, c, i)) - mean_error - centred * x_hat_weight));
    });
  });
  sync_.error_sums_set = false;
  sync_.forward_synchronised = false;
  if (!this->updates_deferred()) {
    scale_.apply_update();
    shift_.apply_update();
  }
  this->note_backward();
  return input_error;
}

template void BatchNorm<float>::partial_moments(const Tensor<float>&, std::span<double>) const;
template void BatchNorm<float>::set_batch_moments(std::span<const double>);
template Tensor<float> BatchNorm<float>::synchronised_output(const Tensor<float>&);
template float BatchNorm<float>::passed_error(const float*, std::size_t, std::size_t) const;
template void BatchNorm<float>::partial_error_sums(const Tensor<float>&, std::span<double>);
template void BatchNorm<float>::set_batch_error_sums(std::span<const double>);
template Tensor<float> BatchNorm<float>::synchronised_backward(const Tensor<float>&);
template void BatchNorm<double>::partial_moments(const Tensor<double>&, std::span<double>) const;
template void BatchNorm<double>::set_batch_moments(std::span<const double>);
template Tensor<double> BatchNorm<double>::synchronised_output(const Tensor<double>&);
template double BatchNorm<double>::passed_error(const double*, std::size_t, std::size_t) const;
template void BatchNorm<double>::partial_error_sums(const Tensor<double>&, std::span<double>);
template void BatchNorm<double>::set_batch_error_sums(std::span<const double>);
template Tensor<double> BatchNorm<double>::synchronised_backward(const Tensor<double>&);

}  // namespace cnnkit
