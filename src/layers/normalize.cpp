// Normalize<T>:
//   forward:  y = (x - mean[c]) / std[c]   for every element of channel c
//   backward: E_{n-1} = E_n / std[c]
// Both in T, with 1 / std[c] and mean[c] rounded to T once: the subtraction comes first, as in
// torchvision's Normalize, so a value equal to the mean becomes exactly 0.
#include "cnnkit/layers/normalize.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "check.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "Normalize";

std::string value_list(const std::vector<double>& values) {
  std::string text(1, '[');
  text += detail::format_numbers(values, ", ");
  text += ']';
  return text;
}

// Calls run(c, begin, end) for every run of one channel's values in an (N, C, ...) tensor: sample
// by sample, channel by channel, in memory order.
template <typename Run>
void for_each_run(const Shape& shape, Run&& run) {
  const std::size_t batch = shape[0], channels = shape[1];
  const std::size_t plane = batch * channels == 0 ? 0 : element_count(shape) / (batch * channels);
  for (std::size_t n = 0; n < batch; ++n) {
    for (std::size_t c = 0; c < channels; ++c) {
      const std::size_t begin = (n * channels + c) * plane;
      run(c, begin, begin + plane);
    }
  }
}

}  // namespace

template <typename T>
Normalize<T>::Normalize(std::vector<double> mean, std::vector<double> std)
    : mean_(std::move(mean)), std_(std::move(std)) {
  detail::require(!mean_.empty() && !std_.empty(), kName,
                  "at least one mean and one standard deviation",
                  std::to_string(mean_.size()) + " means and " + std::to_string(std_.size()) +
                      " standard deviations");
  for (const double m : mean_) {
    detail::require(std::isfinite(m), kName, "finite means", "mean " + value_list(mean_));
  }
  for (const double s : std_) {
    detail::require(std::isfinite(s) && s > 0, kName, "finite standard deviations above 0",
                    "std " + value_list(std_));
  }
}

template <typename T>
std::size_t Normalize<T>::check_channels(const Shape& input_shape) const {
  detail::require(input_shape.size() >= 2, kName, "input of rank 2 or more (batch, channels, ...)",
                  input_shape);
  const std::size_t channels = input_shape[1];
  const auto fits = [&](std::size_t values) { return values == 1 || values == channels; };
  detail::require(fits(mean_.size()) && fits(std_.size()), kName,
                  "one mean and one std, or one per channel (" + std::to_string(channels) + ")",
                  std::to_string(mean_.size()) + " means and " + std::to_string(std_.size()) +
                      " stds for input " + to_string(input_shape));
  return channels;
}

template <typename T>
Shape Normalize<T>::output_shape(const Shape& input_shape) const {
  check_channels(input_shape);
  return input_shape;
}

template <typename T>
std::size_t Normalize<T>::forward_flops(const Shape& input_shape) const {
  return 2 * element_count(input_shape);  // subtract, multiply
}

template <typename T>
Tensor<T> Normalize<T>::forward(const Tensor<T>& input) {
  check_channels(input.shape());
  Tensor<T> output = this->new_output(input.shape());  // written in full
  const T* x = input.data();
  T* y = output.data();
  for_each_run(input.shape(), [&](std::size_t c, std::size_t begin, std::size_t end) {
    const T mean = static_cast<T>(mean_[mean_.size() == 1 ? 0 : c]);
    const T scale = static_cast<T>(1.0 / std_[std_.size() == 1 ? 0 : c]);
    for (std::size_t i = begin; i < end; ++i) y[i] = (x[i] - mean) * scale;
  });
  if (this->testing_phase()) {
    input_shape_.reset();
  } else {
    input_shape_ = input.shape();
  }
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> Normalize<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();
  detail::require_shape(error_tensor.shape(), *input_shape_, kName, "error_tensor");
  Tensor<T> input_error = this->new_input_error(error_tensor.shape());  // written in full
  const T* e = error_tensor.data();
  T* out = input_error.data();
  for_each_run(error_tensor.shape(), [&](std::size_t c, std::size_t begin, std::size_t end) {
    const T scale = static_cast<T>(1.0 / std_[std_.size() == 1 ? 0 : c]);
    for (std::size_t i = begin; i < end; ++i) out[i] = e[i] * scale;
  });
  this->note_backward();
  return input_error;
}

template class Normalize<float>;
template class Normalize<double>;

}  // namespace cnnkit
