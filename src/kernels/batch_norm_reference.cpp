// The reference twins of the BatchNorm kernels (batch_norm_kernels.hpp): each channel's values in
// memory order, one running sum in double.
#include <cstddef>

#include "kernels/batch_norm_kernels.hpp"

namespace cnnkit::kernels::reference {

namespace {

template <typename Body>
void for_each(const ChannelLayout& layout, std::size_t c, Body&& body) {
  for (std::size_t n = 0; n < layout.batch; ++n) {
    const std::size_t start = layout.plane(n, c);
    for (std::size_t s = 0; s < layout.spatial; ++s) body(start + s);
  }
}

}  // namespace

template <typename T>
double channel_sum(const T* x, const ChannelLayout& layout, std::size_t c) {
  double sum = 0;
  for_each(layout, c, [&](std::size_t i) { sum += static_cast<double>(x[i]); });
  return sum;
}

template <typename T>
double channel_centred_square_sum(const T* x, const ChannelLayout& layout, std::size_t c,
                                  double mean) {
  double sum = 0;
  for_each(layout, c, [&](std::size_t i) {
    const double d = static_cast<double>(x[i]) - mean;
    sum += d * d;
  });
  return sum;
}

template <typename T>
void channel_affine(const T* x, T* y, const ChannelLayout& layout, std::size_t c, T factor,
                    T offset) {
  for_each(layout, c, [&](std::size_t i) { y[i] = factor * x[i] + offset; });
}

template <typename T>
void channel_error_sums(const T* x, const T* e, const ChannelLayout& layout, std::size_t c,
                        double mean, double inv_std, double& error_sum, double& error_x_hat_sum) {
  error_sum = 0;
  error_x_hat_sum = 0;
  for_each(layout, c, [&](std::size_t i) {
    const double error = static_cast<double>(e[i]);
    error_sum += error;
    error_x_hat_sum += error * (static_cast<double>(x[i]) - mean) * inv_std;
  });
}

template <typename T>
void channel_input_error(const T* x, const T* e, T* dx, const ChannelLayout& layout, std::size_t c,
                         double mean, double k, double mean_error, double x_hat_weight) {
  for_each(layout, c, [&](std::size_t i) {
    const double centred = static_cast<double>(x[i]) - mean;
    dx[i] = static_cast<T>(k * (static_cast<double>(e[i]) - mean_error - centred * x_hat_weight));
  });
}

CNNKIT_BATCH_NORM_KERNELS(float, template)
CNNKIT_BATCH_NORM_KERNELS(double, template)

}  // namespace cnnkit::kernels::reference
