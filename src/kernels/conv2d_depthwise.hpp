// Depthwise convolution (groups = channels; K = channels x multiplier kernels, kernel k over
// channel k / multiplier only) as plain loops along output rows, which the compiler vectorises
// for the instruction set of the file that includes this header (simd_kernels_avx512.cpp,
// simd_kernels_avx2.cpp, conv2d_depthwise.cpp for the baseline CPU and double): a depthwise
// layer has m n multiply-adds per output, too few for im2col + one GEMM per channel to pay.
// Any stride, dilation and padding. Include with CNNKIT_SIMD_NAMESPACE defined.
//
// Each plane is copied once into a zero-padded scratch plane (its borders are zeroed once per
// call and never written again), so no loop tests bounds. Sums, in a fixed order whatever the
// thread count:
//   forward:      out[i, j] = bias, then + W[u, v] x_pad[i sy + u dy, j sx + v dx], (u, v) in
//   order,
//                 32 outputs of a row at a time in registers
//   input error:  per (b, c) plane, E's rows scattered onto a zero padded plane, kernel by kernel
//   weights/bias: per channel, per tap one row of partial sums over (sample, output row), added
//                 along the row at the end; each channel is one thread's, whole.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>

#include "kernels/conv_geometry.hpp"
#include "runtime/parallel.hpp"
#include "runtime/thread_pool.hpp"

namespace cnnkit::kernels::detail {
// The float loops compiled for AVX-512 and AVX2 (+ FMA); `scratch` holds depthwise_scratch(g)
// floats per thread of the team.
void depthwise_forward_avx512(const ConvGeometry& g, const float* input, const float* weights,
                              const float* bias, float* output, float* scratch);
void depthwise_backward_avx512(const ConvGeometry& g, const float* input, const float* weights,
                               const float* error, float* input_error, float* weight_gradient,
                               float* bias_gradient, float* scratch);
void depthwise_forward_avx2(const ConvGeometry& g, const float* input, const float* weights,
                            const float* bias, float* output, float* scratch);
void depthwise_backward_avx2(const ConvGeometry& g, const float* input, const float* weights,
                             const float* error, float* input_error, float* weight_gradient,
                             float* bias_gradient, float* scratch);
}  // namespace cnnkit::kernels::detail

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// to[0 .. count) = from[0 .. count) for a row of a plane: 64-byte blocks of constant size (32 or
// 16 below 64 bytes), the last one overlapping the one before, so that a row of a few dozen values
// costs a few vector moves rather than a library call (a layer copies tens of thousands of such
// rows).
template <typename T>
void copy_short_row(const T* from, std::size_t count, T* to) {
  constexpr std::size_t kBlock = 64 / sizeof(T);
  if (count < kBlock) {
    // Two overlapping blocks of half or a quarter of that, or one value at a time.
    for (const std::size_t part : {kBlock / 2, kBlock / 4}) {
      if (part > 0 && count >= part) {
        std::memcpy(to, from, part * sizeof(T));
        std::memcpy(to + count - part, from + count - part, part * sizeof(T));
        return;
      }
    }
    for (std::size_t i = 0; i < count; ++i) to[i] = from[i];
    return;
  }
  std::size_t i = 0;
  for (; i + kBlock <= count; i += kBlock) std::memcpy(to + i, from + i, 64);
  if (i < count) std::memcpy(to + count - kBlock, from + count - kBlock, 64);
}

// A plane zero padded as the geometry says, in polyphase rows: column c of a padded row lies in
// phase c % sx at c / sx, so the columns one tap reads for consecutive outputs (sx apart) are
// consecutive whatever the stride. The input error scatters into the same memory laid out
// plainly (`plain_at`).
template <typename T>
struct DepthwisePlane {
  const ConvGeometry& g;
  std::size_t padded_x = g.in_x + g.pad_x_before() + g.pad_x_after();
  std::size_t padded_y = g.in_y + g.pad_y_before() + g.pad_y_after();
  std::size_t phase_x = (padded_x + g.stride_x - 1) / g.stride_x;
  std::size_t row = phase_x * g.stride_x;  // elements of a polyphase row (>= padded_x)

  std::size_t size() const { return padded_y * row; }

  // The interior of `padded` from `plane` (borders untouched).
  void fill(const T* plane, T* padded) const {
    const std::size_t sx = g.stride_x;
    for (std::size_t y = 0; y < g.in_y; ++y) {
      const T* source = plane + y * g.in_x;
      T* target = padded + (y + g.pad_y_before()) * row;
      if (sx == 1) {
        copy_short_row(source, g.in_x, target + g.pad_x_before());
        continue;
      }
      // Column x + pad of the padded row: phase and position counted on, not divided out.
      std::size_t phase = g.pad_x_before() % sx, position = g.pad_x_before() / sx;
      for (std::size_t x = 0; x < g.in_x; ++x) {
        target[phase * phase_x + position] = source[x];
        if (++phase == sx) phase = 0, ++position;
      }
    }
  }
  // Where output row i, tap (u, v) reads output 0's input; output j's is j further.
  std::size_t at(std::size_t i, std::size_t u, std::size_t v) const {
    const std::size_t c = v * g.dilation_x;
    return (i * g.stride_y + u * g.dilation_y) * row + c % g.stride_x * phase_x + c / g.stride_x;
  }
  // The same in a plain padded plane (rows of padded_x), output j's input j sx further.
  std::size_t plain_at(std::size_t i, std::size_t u, std::size_t v) const {
    return (i * g.stride_y + u * g.dilation_y) * padded_x + v * g.dilation_x;
  }
};

// Outputs per chunk of a row: their sums stay in registers over all taps (two AVX-512
// registers of float). A row's last chunk computes all of them too and stores only its own.
inline constexpr std::size_t kDepthwiseChunk = 32;

// Elements of scratch per thread: one padded plane, what a last chunk reads past it, and
// m n + 1 rows of X' partial sums.
inline std::size_t depthwise_scratch(const ConvGeometry& g) {
  const DepthwisePlane<float> plane{g};
  return plane.size() + kDepthwiseChunk + (g.kernel_y * g.kernel_x + 1) * g.out_x() + 16;
}

// Outputs j0 .. j0 + width - 1 of row i (width <= Chunk): bias, then every tap in order. The
// lanes past `width` read on into the next row or the scratch after the plane and are dropped.
// The sums are GCC vectors of 64 bytes (one AVX-512 register, two AVX2, four SSE), so they stay
// in registers over all taps whatever the instruction set.
template <typename T, std::size_t Chunk>
void depthwise_chunk(const ConvGeometry& g, const DepthwisePlane<T>& plane, const T* padded,
                     const T* w, T bias, std::size_t i, std::size_t j0, std::size_t width, T* out) {
  typedef T Vector __attribute__((vector_size(64)));
  constexpr std::size_t kLanes = 64 / sizeof(T), kVectors = Chunk / kLanes;
  Vector sums[kVectors];
  for (std::size_t r = 0; r < kVectors; ++r) {
    for (std::size_t l = 0; l < kLanes; ++l) sums[r][l] = bias;
  }
  for (std::size_t u = 0; u < g.kernel_y; ++u) {
    for (std::size_t v = 0; v < g.kernel_x; ++v) {
      const T wv = w[u * g.kernel_x + v];
      const T* source = padded + plane.at(i, u, v) + j0;
      for (std::size_t r = 0; r < kVectors; ++r) {
        Vector x;
        std::memcpy(&x, source + r * kLanes, sizeof(Vector));
        sums[r] += wv * x;
      }
    }
  }
  if (width == Chunk) {
    std::memcpy(out, sums, sizeof(sums));
    return;
  }
  T result[Chunk];
  std::memcpy(result, sums, sizeof(result));
  copy_short_row(result, width, out);
}

template <typename T>
void depthwise_forward(const ConvGeometry& g, const T* input, const T* weights, const T* bias,
                       T* output, T* scratch) {
  const DepthwisePlane<T> plane{g};
  const std::size_t per_thread = depthwise_scratch(g), multiplier = g.kernels / g.channels;
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  const std::size_t taps = g.kernel_y * g.kernel_x;
  const std::size_t threads = runtime::team_size();
  for (std::size_t t = 0; t < threads; ++t) {
    std::fill(scratch + t * per_thread, scratch + t * per_thread + plane.size(), T(0));
  }
  runtime::parallel_for(g.batch * g.channels, true, [&](std::size_t bc) {
    T* const padded = scratch + runtime::this_thread() * per_thread;
    plane.fill(input + bc * g.in_y * g.in_x, padded);
    for (std::size_t q = 0; q < multiplier; ++q) {
      const std::size_t k = bc % g.channels * multiplier + q;
      const T* const w = weights + k * taps;
      T* const out = output + (bc / g.channels * g.kernels + k) * out_y * out_x;
      for (std::size_t i = 0; i < out_y; ++i) {
        std::size_t j0 = 0;
        for (; j0 + kDepthwiseChunk <= out_x; j0 += kDepthwiseChunk) {
          depthwise_chunk<T, kDepthwiseChunk>(g, plane, padded, w, bias[k], i, j0, kDepthwiseChunk,
                                              out + i * out_x + j0);
        }
        // The rest in a half chunk when it fits one: fewer lanes computed for nothing.
        if (out_x - j0 > kDepthwiseChunk / 2) {
          depthwise_chunk<T, kDepthwiseChunk>(g, plane, padded, w, bias[k], i, j0, out_x - j0,
                                              out + i * out_x + j0);
        } else if (j0 < out_x) {
          depthwise_chunk<T, kDepthwiseChunk / 2>(g, plane, padded, w, bias[k], i, j0, out_x - j0,
                                                  out + i * out_x + j0);
        }
      }
    }
  });
}

template <typename T>
void depthwise_backward(const ConvGeometry& g, const T* input, const T* weights, const T* error,
                        T* input_error, T* weight_gradient, T* bias_gradient, T* scratch) {
  const DepthwisePlane<T> plane{g};
  const std::size_t per_thread = depthwise_scratch(g), multiplier = g.kernels / g.channels;
  const std::size_t out_y = g.out_y(), out_x = g.out_x(), sx = g.stride_x;
  const std::size_t taps = g.kernel_y * g.kernel_x, padded_size = plane.size();
  // One channel with all its kernels and samples per item: its gradients are one thread's.
  runtime::parallel_for(g.channels, true, [&](std::size_t c) {
    T* const padded = scratch + runtime::this_thread() * per_thread;
    // taps + 1 rows of out_x, weights then bias, after the chunks' slack; the padded plane
    // holds polyphase rows for the weight gradient, plain ones for the input error
    T* const sums = padded + padded_size + kDepthwiseChunk;
    for (std::size_t q = 0; q < multiplier; ++q) {
      const std::size_t k = c * multiplier + q;
      std::fill(sums, sums + (taps + 1) * out_x, T(0));
      std::fill(padded, padded + padded_size, T(0));
      for (std::size_t b = 0; b < g.batch; ++b) {
        plane.fill(input + (b * g.channels + c) * g.in_y * g.in_x, padded);
        const T* const e = error + (b * g.kernels + k) * out_y * out_x;
        for (std::size_t i = 0; i < out_y; ++i) {
          const T* __restrict e_row = e + i * out_x;
          T* __restrict bias_row = sums + taps * out_x;
          for (std::size_t j = 0; j < out_x; ++j) bias_row[j] += e_row[j];
          for (std::size_t u = 0; u < g.kernel_y; ++u) {
            for (std::size_t v = 0; v < g.kernel_x; ++v) {
              T* __restrict row = sums + (u * g.kernel_x + v) * out_x;
              const T* __restrict source = padded + plane.at(i, u, v);
              for (std::size_t j = 0; j < out_x; ++j) row[j] += source[j] * e_row[j];
            }
          }
        }
      }
      for (std::size_t t = 0; t <= taps; ++t) {
        T sum = 0;
        for (std::size_t j = 0; j < out_x; ++j) sum += sums[t * out_x + j];
        (t < taps ? weight_gradient[k * taps + t] : bias_gradient[k]) = sum;
      }
    }
    if (input_error == nullptr) return;
    // The input error of every sample's plane c: each kernel of the channel scatters its E
    // onto the padded plane, whose interior is the result.
    for (std::size_t b = 0; b < g.batch; ++b) {
      std::fill(padded, padded + padded_size, T(0));
      for (std::size_t q = 0; q < multiplier; ++q) {
        const std::size_t k = c * multiplier + q;
        const T* const w = weights + k * taps;
        const T* const e = error + (b * g.kernels + k) * out_y * out_x;
        for (std::size_t i = 0; i < out_y; ++i) {
          const T* __restrict e_row = e + i * out_x;
          for (std::size_t u = 0; u < g.kernel_y; ++u) {
            for (std::size_t v = 0; v < g.kernel_x; ++v) {
              const T wv = w[u * g.kernel_x + v];
              T* __restrict target = padded + plane.plain_at(i, u, v);
              if (sx == 1) {
                for (std::size_t j = 0; j < out_x; ++j) target[j] += wv * e_row[j];
              } else {
                for (std::size_t j = 0; j < out_x; ++j) target[j * sx] += wv * e_row[j];
              }
            }
          }
        }
      }
      T* const dx = input_error + (b * g.channels + c) * g.in_y * g.in_x;
      for (std::size_t y = 0; y < g.in_y; ++y) {
        const T* row = padded + (y + g.pad_y_before()) * plane.padded_x + g.pad_x_before();
        std::copy(row, row + g.in_x, dx + y * g.in_x);
      }
    }
  });
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
