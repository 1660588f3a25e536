// Test-local convolutions written straight from the definition with multi-index access, apart
// from the library's kernels, so that the Conv layer's mapping of shapes, strides and 1-D onto
// those kernels is checked against something independent.
#pragma once

#include <cstddef>
#include <random>

#include "cnnkit/tensor.hpp"

namespace cnnkit::testing {

template <typename T>
Tensor<T> random_tensor(const Shape& shape, std::mt19937& engine, T low = T(-1), T high = T(1)) {
  std::uniform_real_distribution<T> uniform(low, high);
  Tensor<T> tensor(shape);
  for (T& value : tensor) value = uniform(engine);
  return tensor;
}

// out[b,k,i,j] = bias[k] + sum_{c,u,v} w[k,c,u,v] * x[b,c, i*sy + u - (m-1)/2, j*sx + v - (n-1)/2]
// with x = 0 outside the image; out is (N, K, ceil(Y/sy), ceil(X/sx)).
template <typename T>
Tensor<T> direct_conv2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                        std::size_t sy, std::size_t sx) {
  const long N = long(x.dim(0)), C = long(x.dim(1)), Y = long(x.dim(2)), X = long(x.dim(3));
  const long K = long(w.dim(0)), m = long(w.dim(2)), n = long(w.dim(3));
  const long oy = (Y + long(sy) - 1) / long(sy), ox = (X + long(sx) - 1) / long(sx);
  Tensor<T> out({std::size_t(N), std::size_t(K), std::size_t(oy), std::size_t(ox)});
  for (long b = 0; b < N; ++b)
    for (long k = 0; k < K; ++k)
      for (long i = 0; i < oy; ++i)
        for (long j = 0; j < ox; ++j) {
          T sum = bias(k);
          for (long c = 0; c < C; ++c)
            for (long u = 0; u < m; ++u)
              for (long v = 0; v < n; ++v) {
                const long y = i * long(sy) + u - (m - 1) / 2;
                const long xx = j * long(sx) + v - (n - 1) / 2;
                if (y >= 0 && y < Y && xx >= 0 && xx < X) sum += w(k, c, u, v) * x(b, c, y, xx);
              }
          out(b, k, i, j) = sum;
        }
  return out;
}

// 1-D: out[b,k,i] = bias[k] + sum_{c,u} w[k,c,u] * x[b,c, i*s + u - (m-1)/2], zero outside.
template <typename T>
Tensor<T> direct_conv1d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& bias,
                        std::size_t s) {
  const long N = long(x.dim(0)), C = long(x.dim(1)), Y = long(x.dim(2));
  const long K = long(w.dim(0)), m = long(w.dim(2));
  const long oy = (Y + long(s) - 1) / long(s);
  Tensor<T> out({std::size_t(N), std::size_t(K), std::size_t(oy)});
  for (long b = 0; b < N; ++b)
    for (long k = 0; k < K; ++k)
      for (long i = 0; i < oy; ++i) {
        T sum = bias(k);
        for (long c = 0; c < C; ++c)
          for (long u = 0; u < m; ++u) {
            const long y = i * long(s) + u - (m - 1) / 2;
            if (y >= 0 && y < Y) sum += w(k, c, u) * x(b, c, y);
          }
        out(b, k, i) = sum;
      }
  return out;
}

}  // namespace cnnkit::testing
