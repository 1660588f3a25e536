// The reference twins of the BatchNorm kernels (batch_norm_kernels.hpp): each plane's values in
// memory order, one running sum in double.
#include <cstddef>

#include "kernels/batch_norm_kernels.hpp"

namespace cnnkit::kernels::reference {

template <typename T>
void shifted_sums(const T* x, const double* shift, const PlaneRange& range, double* sums) {
  for (std::size_t p = range.begin; p < range.end; ++p) {
    const T* plane = x + p * range.spatial;
    double sum = 0, square_sum = 0;
    for (std::size_t s = 0; s < range.spatial; ++s) {
      const double d = static_cast<double>(plane[s]) - shift[p % range.channels];
      sum += d;
      square_sum += d * d;
    }
    sums[2 * p] = sum;
    sums[2 * p + 1] = square_sum;
  }
}

template <typename T>
void error_sums(const T* x, const T* e, const double* mean, const PlaneRange& range, double* sums) {
  for (std::size_t p = range.begin; p < range.end; ++p) {
    const std::size_t start = p * range.spatial;
    double sum = 0, centred_sum = 0;
    for (std::size_t i = start; i < start + range.spatial; ++i) {
      const double error = static_cast<double>(e[i]);
      sum += error;
      centred_sum += error * (static_cast<double>(x[i]) - mean[p % range.channels]);
    }
    sums[2 * p] = sum;
    sums[2 * p + 1] = centred_sum;
  }
}

template <typename T>
void affine(const T* x, T* y, const T* factor, const T* offset, const PlaneRange& range) {
  for (std::size_t p = range.begin; p < range.end; ++p) {
    const std::size_t c = p % range.channels;
    for (std::size_t i = p * range.spatial; i < (p + 1) * range.spatial; ++i) {
      y[i] = factor[c] * x[i] + offset[c];
    }
  }
}

template <typename T>
void input_error(const T* x, const T* e, T* dx, const double* mean, const double* k,
                 const double* mean_error, const double* x_hat_weight, const PlaneRange& range) {
  for (std::size_t p = range.begin; p < range.end; ++p) {
    const std::size_t c = p % range.channels;
    for (std::size_t i = p * range.spatial; i < (p + 1) * range.spatial; ++i) {
      const double centred = static_cast<double>(x[i]) - mean[c];
      dx[i] = static_cast<T>(
          k[c] * (static_cast<double>(e[i]) - mean_error[c] - centred * x_hat_weight[c]));
    }
  }
}

CNNKIT_BATCH_NORM_KERNELS(float, template)
CNNKIT_BATCH_NORM_KERNELS(double, template)

}  // namespace cnnkit::kernels::reference
