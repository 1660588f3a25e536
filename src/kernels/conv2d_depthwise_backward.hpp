// The depthwise convolution's backward (see conv2d_depthwise.hpp), per channel, whole on one
// thread, for all its kernels and samples. Sums, in a fixed order whatever the thread count:
//   weights/bias: per tap a vector of partial sums (lane l: the outputs j = l mod lanes), over
//                 samples, output rows and chunks of a row in order, its lanes added in order at
//                 the end;
//   input error:  stride 1 with one kernel per channel: a forward convolution of the error,
//                 zero padded by span - 1 - pad, with the kernel turned by 180 degrees (taps in
//                 that order); otherwise per sample the error's rows scattered onto a padded
//                 polyphase plane kernel by kernel, tap by tap, its interior copied out.
// Include from conv2d_depthwise.hpp only.
#pragma once

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// Whether the input error runs as a forward convolution (depthwise_transposed): stride 1, one
// kernel per channel, padding within the span, a kernel whose taps are listed.
inline bool depthwise_gathers_input_error(const ConvGeometry& g) {
  return g.stride_y == 1 && g.stride_x == 1 && g.kernels == g.channels &&
         g.pad_y_before() < g.span_y() && g.pad_y_after() < g.span_y() &&
         g.pad_x_before() < g.span_x() && g.pad_x_after() < g.span_x() &&
         g.kernel_y * g.kernel_x <= kDepthwiseListedTaps;
}

// The geometry of that forward convolution: the error's plane as input, padded so that output
// (y, x) reads E[y + pad_top - u dy, x + pad_left - v dx] at tap (m - 1 - u, n - 1 - v).
inline ConvGeometry depthwise_transposed(const ConvGeometry& g) {
  ConvGeometry t = g;
  t.in_y = g.out_y();
  t.in_x = g.out_x();
  t.explicit_padding = true;
  t.pad_top = g.span_y() - 1 - g.pad_y_before();
  t.pad_bottom = g.span_y() - 1 - g.pad_y_after();
  t.pad_left = g.span_x() - 1 - g.pad_x_before();
  t.pad_right = g.span_x() - 1 - g.pad_x_after();
  return t;
}

// Scratch per thread, in this order: a padded plane (the input's, or the error's for the
// input error) and what chunks read past it; the error's rows padded to whole vectors of 16
// (zero lanes past out_x); taps + 1 vectors of 16 partial sums.
inline std::size_t depthwise_padded_size(const ConvGeometry& g) {
  std::size_t size = DepthwisePlane<float>{g}.scratch_size();
  if (depthwise_gathers_input_error(g)) {
    const ConvGeometry t = depthwise_transposed(g);
    size = std::max(size, DepthwisePlane<float>{t}.scratch_size());
  }
  return size;
}
inline constexpr std::size_t kDepthwiseSumLanes = 16;
inline std::size_t depthwise_error_row(const ConvGeometry& g) {
  return (g.out_x() + kDepthwiseSumLanes - 1) / kDepthwiseSumLanes * kDepthwiseSumLanes;
}
inline std::size_t depthwise_scratch(const ConvGeometry& g) {
  return depthwise_padded_size(g) + g.out_y() * depthwise_error_row(g) +
         (g.kernel_y * g.kernel_x + 1) * kDepthwiseSumLanes;
}

// sums[v] += X(i, u, v0 + v) E(i) lane by lane for v < Group, over the output rows i and the
// vectors of each padded error row (`e_row` apart) in order.
template <typename T, std::size_t Group>
void depthwise_weight_sums(const DepthwisePlane<T>& plane, const T* padded, const T* e,
                           std::size_t e_row, std::size_t u, std::size_t v0, T* sums) {
  typedef T Vector __attribute__((vector_size(64)));
  constexpr std::size_t kLanes = 64 / sizeof(T);
  Vector acc[Group];
  std::size_t offsets[Group];
  std::memcpy(acc, sums, sizeof(acc));
  for (std::size_t v = 0; v < Group; ++v) offsets[v] = plane.at(0, u, v0 + v);
  const std::size_t step = plane.g.stride_y * plane.row, out_y = plane.g.out_y();
  for (std::size_t i = 0; i < out_y; ++i) {
    const T* const base = padded + i * step;
    for (std::size_t j0 = 0; j0 < e_row; j0 += kLanes) {
      Vector ev;
      std::memcpy(&ev, e + i * e_row + j0, sizeof(Vector));
      for (std::size_t v = 0; v < Group; ++v) {
        Vector x;
        std::memcpy(&x, base + offsets[v] + j0, sizeof(Vector));
        acc[v] += x * ev;
      }
    }
  }
  std::memcpy(sums, acc, sizeof(acc));
}

// One kernel row u's taps, four at a time.
template <typename T>
void depthwise_weight_row(const DepthwisePlane<T>& plane, const T* padded, const T* e,
                          std::size_t e_row, std::size_t u, T* sums) {
  constexpr std::size_t kLanes = 64 / sizeof(T);
  const std::size_t n = plane.g.kernel_x;
  for (std::size_t v0 = 0; v0 < n; v0 += 4) {
    T* const at = sums + (u * n + v0) * kLanes;
    switch (std::min<std::size_t>(n - v0, 4)) {
      case 1:
        depthwise_weight_sums<T, 1>(plane, padded, e, e_row, u, v0, at);
        break;
      case 2:
        depthwise_weight_sums<T, 2>(plane, padded, e, e_row, u, v0, at);
        break;
      case 3:
        depthwise_weight_sums<T, 3>(plane, padded, e, e_row, u, v0, at);
        break;
      default:
        depthwise_weight_sums<T, 4>(plane, padded, e, e_row, u, v0, at);
        break;
    }
  }
}

template <typename T>
void depthwise_backward(const ConvGeometry& g, const T* input, const T* weights, const T* error,
                        T* input_error, T* weight_gradient, T* bias_gradient, T* scratch) {
  typedef T Vector __attribute__((vector_size(64)));
  constexpr std::size_t kLanes = 64 / sizeof(T);
  const DepthwisePlane<T> plane{g};
  const std::size_t per_thread = depthwise_scratch(g), multiplier = g.kernels / g.channels;
  const std::size_t out_y = g.out_y(), out_x = g.out_x(), out_size = out_y * out_x;
  const std::size_t taps = g.kernel_y * g.kernel_x, padded_size = depthwise_padded_size(g);
  const std::size_t e_row = depthwise_error_row(g), in_size = g.in_y * g.in_x;
  const bool gather = depthwise_gathers_input_error(g);
  const ConvGeometry transposed = gather ? depthwise_transposed(g) : g;
  const DepthwisePlane<T> error_plane{transposed};
  const DepthwiseOffsets<T> error_offsets{error_plane};
  runtime::parallel_for(g.channels, true, [&](std::size_t c) {
    T* const padded = scratch + runtime::this_thread() * per_thread;
    T* const e = padded + padded_size;
    T* const sums = e + out_y * e_row;
    std::fill(e, e + out_y * e_row, T(0));
    for (std::size_t q = 0; q < multiplier; ++q) {
      const std::size_t k = c * multiplier + q;
      std::fill(padded, padded + padded_size, T(0));
      std::fill(sums, sums + (taps + 1) * kLanes, T(0));
      for (std::size_t b = 0; b < g.batch; ++b) {
        plane.fill(input + (b * g.channels + c) * in_size, padded);
        const T* const e_plane = error + (b * g.kernels + k) * out_size;
        for (std::size_t i = 0; i < out_y; ++i) {
          copy_short_row(e_plane + i * out_x, out_x, e + i * e_row);
        }
        for (std::size_t u = 0; u < g.kernel_y; ++u) {
          depthwise_weight_row(plane, padded, e, e_row, u, sums);
        }
        Vector bias_sums;
        std::memcpy(&bias_sums, sums + taps * kLanes, sizeof(Vector));
        for (std::size_t j = 0; j < out_y * e_row; j += kLanes) {
          Vector ev;
          std::memcpy(&ev, e + j, sizeof(Vector));
          bias_sums += ev;
        }
        std::memcpy(sums + taps * kLanes, &bias_sums, sizeof(Vector));
      }
      for (std::size_t t = 0; t <= taps; ++t) {
        T sum = 0;
        for (std::size_t l = 0; l < kLanes; ++l) sum += sums[t * kLanes + l];
        (t < taps ? weight_gradient[k * taps + t] : bias_gradient[k]) = sum;
      }
    }
    if (input_error == nullptr) return;
    if (gather) {
      T turned[kDepthwiseListedTaps];
      for (std::size_t t = 0; t < taps; ++t) turned[t] = weights[c * taps + taps - 1 - t];
      std::fill(padded, padded + padded_size, T(0));
      error_offsets.visit([&]<std::size_t Taps>(const auto& offset) {
        for (std::size_t b = 0; b < g.batch; ++b) {
          error_plane.fill(error + (b * g.kernels + c) * out_size, padded);
          depthwise_plane<T, Taps>(transposed, error_plane, padded, offset, turned, T(0),
                                   input_error + (b * g.channels + c) * in_size);
        }
      });
      return;
    }
    // Every sample's plane c: each kernel of the channel scatters its E onto the padded plane,
    // whose interior is the result.
    for (std::size_t b = 0; b < g.batch; ++b) {
      std::fill(padded, padded + plane.size(), T(0));  // not the line: extract writes all of it
      for (std::size_t q = 0; q < multiplier; ++q) {
        const std::size_t k = c * multiplier + q;
        const T* const w = weights + k * taps;
        const T* const e_plane = error + (b * g.kernels + k) * out_size;
        for (std::size_t i = 0; i < out_y; ++i) {
          const T* __restrict e_row_values = e_plane + i * out_x;
          for (std::size_t u = 0; u < g.kernel_y; ++u) {
            for (std::size_t v = 0; v < g.kernel_x; ++v) {
              const T wv = w[u * g.kernel_x + v];
              T* __restrict target = padded + plane.at(i, u, v);
              for (std::size_t j = 0; j < out_x; ++j) target[j] += wv * e_row_values[j];
            }
          }
        }
      }
      plane.extract(padded, input_error + (b * g.channels + c) * in_size);
    }
  });
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
