// The reference twins of the BatchNorm kernels (batch_norm_kernels.hpp): each plane's values in
// memory order, one running sum in double.
#include <cstddef>

#include "kernels/batch_norm_kernels.hpp"

namespace cnnkit::kernels::reference {

namespace {

// The error at element i of channel c after the fused ReLU, if any: e where y = factor x + offset
// is above 0 (ReLU's mask of its input y), else 0.
template <typename T>
T gated(const T* x, const T* e, const ReluGate<T>& gate, std::size_t c, std::size_t i) {
  if (gate.factor == nullptr) return e[i];
  const T y = gate.factor[c] * x[i] + gate.offset[c];
  return y > T(0) ? e[i] : T(0);
}

}  // namespace

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
void error_sums(const T* x, const T* e, const double* mean, const ReluGate<T>& gate,
                const PlaneRange& range, double* sums) {
  for (std::size_t p = range.begin; p < range.end; ++p) {
    const std::size_t c = p % range.channels;
    const std::size_t start = p * range.spatial;
    double sum = 0, centred_sum = 0;
    for (std::size_t i = start; i < start + range.spatial; ++i) {
      const double error = static_cast<double>(gated(x, e, gate, c, i));
      sum += error;
      centred_sum += error * (static_cast<double>(x[i]) - mean[c]);
    }
    sums[2 * p] = sum;
    sums[2 * p + 1] = centred_sum;
  }
}

template <typename T>
void affine(const T* x, T* y, const T* factor, const T* offset, bool rectify,
            const PlaneRange& range) {
  for (std::size_t p = range.begin; p < range.end; ++p) {
    const std::size_t c = p % range.channels;
    for (std::size_t i = p * range.spatial; i < (p + 1) * range.spatial; ++i) {
      const T value = factor[c] * x[i] + offset[c];
      y[i] = rectify && !(value > T(0)) ? T(0) : value;
    }
  }
}

template <typename T>
void input_error(const T* x, const T* e, T* dx, const double* mean, const double* k,
                 const double* mean_error, const double* x_hat_weight, const ReluGate<T>& gate,
                 const PlaneRange& range) {
  for (std::size_t p = range.begin; p < range.end; ++p) {
    const std::size_t c = p % range.channels;
    for (std::size_t i = p * range.spatial; i < (p + 1) * range.spatial; ++i) {
      const double centred = static_cast<double>(x[i]) - mean[c];
      const double error = static_cast<double>(gated(x, e, gate, c, i));
      dx[i] = static_cast<T>(k[c] * (error - mean_error[c] - centred * x_hat_weight[c]));
    }
  }
}

CNNKIT_BATCH_NORM_KERNELS(float, template)
CNNKIT_BATCH_NORM_KERNELS(double, template)

}  // namespace cnnkit::kernels::reference
