// Depthwise convolution (groups = channels; K = channels x multiplier kernels, kernel k over
// channel k / multiplier only) as plain loops along output rows, which the compiler vectorises
// for the instruction set of the file that includes this header (simd_kernels_avx512.cpp,
// simd_kernels_avx2.cpp, conv2d_depthwise.cpp for the baseline CPU and double): a depthwise
// layer has m n multiply-adds per output, too few for im2col + one GEMM per channel to pay.
// Any stride, dilation and padding. Include with CNNKIT_SIMD_NAMESPACE defined.
//
// Each plane is copied once into a zero-padded scratch plane (its borders are zeroed once per
// call and never written again), so no loop tests bounds. The forward's sums, in a fixed order
// whatever the thread count: out[i, j] = bias, then + W[u, v] x_pad[i sy + u dy, j sx + v dx],
// (u, v) in order, 32 outputs of a row (of several rows for 3x3 and 5x5 kernels at stride 1) at
// a time in registers. The backward: conv2d_depthwise_backward.hpp, included at the end.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <type_traits>

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

#include "kernels/conv2d_depthwise_plane.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// Outputs per chunk of a row: their sums stay in registers over all taps (two AVX-512
// registers of float). A row's last chunk computes all of them too.
inline constexpr std::size_t kDepthwiseChunk = 32;
// Kernels of at most this many taps have their reading offsets listed once per call.
inline constexpr std::size_t kDepthwiseListedTaps = 64;

// out[0 .. width) = sums[0 .. width) (a plane's last rows only), apart from the hot loops.
template <typename T, std::size_t Chunk>
[[gnu::noinline]] void depthwise_store_part(const T* sums, std::size_t width, T* out) {
  T result[Chunk];
  std::memcpy(result, sums, sizeof(result));
  for (std::size_t l = 0; l < width; ++l) out[l] = result[l];
}

// Outputs j0 .. j0 + width - 1 (width <= Chunk) of Rows consecutive output rows (`out_x`
// apart in `out`, `step` apart in the padded plane), `base` where the first row's output j0's
// first tap reads: bias, then every tap t in order at base + offset(t). The lanes past `width`
// read on into the next row or the scratch after the plane; they are stored too when `spill`
// (the place they go, in the rows below, is written again later by the same thread), else
// dropped. The sums are
// GCC vectors of one register (kDepthwiseVectorBytes), so they stay in
// registers over all taps whatever the instruction set. Taps: the tap count when known at
// compile time (the loop then unrolls), 0 for `taps`.
template <typename T, std::size_t Chunk, std::size_t Taps, std::size_t Rows, std::size_t K,
          typename Offset>
[[gnu::always_inline]] inline void depthwise_chunk(const T* base, std::size_t step,
                                                   const Offset& offset, std::size_t taps,
                                                   const T* w, T bias, std::size_t width,
                                                   bool spill, T* out, std::size_t out_x) {
  typedef T Vector __attribute__((vector_size(kDepthwiseVectorBytes)));
  constexpr std::size_t kLanes = kDepthwiseVectorBytes / sizeof(T), kVectors = Chunk / kLanes;
  const std::size_t count = Taps > 0 ? Taps : taps;
  Vector sums[Rows][kVectors];
  for (std::size_t i = 0; i < Rows; ++i) {
    for (std::size_t r = 0; r < kVectors; ++r) sums[i][r] = Vector{} + bias;
  }
  if constexpr (K > 0) {
    // A K x K kernel at stride and dilation 1: each input row s of the block loaded once per
    // column v and vector, for the output rows s - u it feeds (taps still in order per output).
#pragma GCC unroll 8
    for (std::size_t s = 0; s < Rows + K - 1; ++s) {
#pragma GCC unroll 5
      for (std::size_t v = 0; v < K; ++v) {
#pragma GCC unroll 4
        for (std::size_t r = 0; r < kVectors; ++r) {
          Vector x;
          std::memcpy(&x, base + s * step + v + r * kLanes, sizeof(Vector));
#pragma GCC unroll 5
          for (std::size_t u = 0; u < K; ++u) {
            if (s >= u && s - u < Rows) sums[s - u][r] += w[u * K + v] * x;
          }
        }
      }
    }
  } else {
    for (std::size_t t = 0; t < count; ++t) {
      const T wv = w[t];
      const T* const source = base + offset(t);
      for (std::size_t i = 0; i < Rows; ++i) {
        for (std::size_t r = 0; r < kVectors; ++r) {
          Vector x;
          std::memcpy(&x, source + i * step + r * kLanes, sizeof(Vector));
          sums[i][r] += wv * x;
        }
      }
    }
  }
  // Whole vectors, then (a plane's last rows only) the rest value by value.
  typedef Vector Unaligned __attribute__((aligned(alignof(T)), may_alias));
  for (std::size_t i = 0; i < Rows; ++i) {
    T* const row = out + i * out_x;
    if (width == Chunk || spill) {
      for (std::size_t r = 0; r < kVectors; ++r) {
        *reinterpret_cast<Unaligned*>(row + r * kLanes) = sums[i][r];
      }
    } else {
      depthwise_store_part<T, Chunk>(reinterpret_cast<const T*>(sums[i]), width, row);
    }
  }
}

// Output rows i .. i + Rows - 1 of a plane: chunks of 32, the rest in one of 16 when it fits
// one, else 32.
// The plane's sizes, worked out once per plane.
struct DepthwiseRowsShape {
  std::size_t out_x, end, taps, step;  // end: outputs of the plane; step: between input rows
};

template <typename T, std::size_t Taps, std::size_t Rows, std::size_t K, typename Offset>
[[gnu::always_inline]] inline void depthwise_rows(const DepthwiseRowsShape& shape, const T* padded,
                                                  const Offset& offset, const T* w, T bias,
                                                  std::size_t i, T* out) {
  const std::size_t out_x = shape.out_x, taps = shape.taps, step = shape.step;
  const std::size_t end = shape.end, last = (i + Rows - 1) * out_x;
  constexpr std::size_t kFull = kDepthwiseChunk, kHalf = kDepthwiseChunk / 2;
  const T* const base = padded + i * step;
  T* const row = out + i * out_x;
  // The rest first: what it spills into the rows below is written again by their whole chunks
  // (or, for rows narrower than a chunk, by their own rest after it).
  const std::size_t j0 = out_x / kFull * kFull, width = out_x - j0;
  if (width > kHalf) {
    depthwise_chunk<T, kFull, Taps, Rows, K>(base + j0, step, offset, taps, w, bias, width,
                                             last + j0 + kFull <= end, row + j0, out_x);
  } else if (width > 0) {
    depthwise_chunk<T, kHalf, Taps, Rows, K>(base + j0, step, offset, taps, w, bias, width,
                                             last + j0 + kHalf <= end, row + j0, out_x);
  }
  for (std::size_t j = 0; j < j0; j += kFull) {
    depthwise_chunk<T, kFull, Taps, Rows, K>(base + j, step, offset, taps, w, bias, kFull, false,
                                             row + j, out_x);
  }
}

// One output plane (out_y x out_x) of the padded input plane `padded`: row by row, or, for a
// 3x3 or 5x5 kernel at stride and dilation 1, kDepthwiseRows rows at a time (then the rows
// left one by one).
template <typename T, std::size_t Taps, typename Offset>
void depthwise_plane(const ConvGeometry& g, const DepthwisePlane<T>& plane, const T* padded,
                     const Offset& offset, const T* w, T bias, T* out) {
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  const DepthwiseRowsShape shape{out_x, out_y * out_x, g.kernel_y * g.kernel_x,
                                 g.stride_y * plane.row};
  constexpr std::size_t K = Taps == 9 ? 3 : (Taps == 25 ? 5 : 0);
  std::size_t i = 0;
  if constexpr (K > 0) {
    if (g.kernel_y == K && g.stride_y == 1 && g.stride_x == 1 && g.dilation_y == 1 &&
        g.dilation_x == 1) {
      for (; i + kDepthwiseRows <= out_y; i += kDepthwiseRows) {
        depthwise_rows<T, Taps, kDepthwiseRows, K>(shape, padded, offset, w, bias, i, out);
      }
    }
  }
  for (; i < out_y; ++i) depthwise_rows<T, Taps, 1, 0>(shape, padded, offset, w, bias, i, out);
}

// Where tap t reads relative to where the output's first tap does: listed once per call for
// kernels of up to kDepthwiseListedTaps taps, computed per tap beyond.
template <typename T>
struct DepthwiseOffsets {
  const DepthwisePlane<T>& plane;
  std::size_t listed[kDepthwiseListedTaps] = {};

  explicit DepthwiseOffsets(const DepthwisePlane<T>& p) : plane(p) {
    const std::size_t n = plane.g.kernel_x, taps = plane.g.kernel_y * n;
    for (std::size_t t = 0; t < taps && t < kDepthwiseListedTaps; ++t) {
      listed[t] = plane.at(0, t / n, t % n);
    }
  }
  // body.template operator()<Taps>(offset): Taps 9, 25, 3 or 5 known at compile time, 0 else.
  template <typename Body>
  void visit(const Body& body) const {
    const auto from_list = [this](std::size_t t) { return listed[t]; };
    const std::size_t n = plane.g.kernel_x, taps = plane.g.kernel_y * n;
    switch (taps) {
      case 9:
        return body.template operator()<9>(from_list);
      case 25:
        return body.template operator()<25>(from_list);
      case 3:
        return body.template operator()<3>(from_list);
      case 5:
        return body.template operator()<5>(from_list);
      default:
        break;
    }
    if (taps <= kDepthwiseListedTaps) return body.template operator()<0>(from_list);
    body.template operator()<0>([this, n](std::size_t t) { return plane.at(0, t / n, t % n); });
  }
};

// Elements of scratch per thread (conv2d_depthwise_backward.hpp): a padded plane first.
inline std::size_t depthwise_scratch(const ConvGeometry& g);

template <typename T>
void depthwise_forward(const ConvGeometry& g, const T* input, const T* weights, const T* bias,
                       T* output, T* scratch) {
  const DepthwisePlane<T> plane{g};
  const DepthwiseOffsets<T> offsets{plane};
  const std::size_t per_thread = depthwise_scratch(g), multiplier = g.kernels / g.channels;
  const std::size_t out_size = g.out_y() * g.out_x(), taps = g.kernel_y * g.kernel_x;
  const std::size_t threads = runtime::team_size();
  for (std::size_t t = 0; t < threads; ++t) {
    T* const padded = scratch + t * per_thread;
    std::fill(padded, padded + plane.scratch_size(), T(0));
  }
  offsets.visit([&]<std::size_t Taps>(const auto& offset) {
    runtime::parallel_for(g.batch * g.channels, true, [&](std::size_t bc) {
      T* const padded = scratch + runtime::this_thread() * per_thread;
      plane.fill(input + bc * g.in_y * g.in_x, padded);
      for (std::size_t q = 0; q < multiplier; ++q) {
        const std::size_t k = bc % g.channels * multiplier + q;
        T* const out = output + (bc / g.channels * g.kernels + k) * out_size;
        depthwise_plane<T, Taps>(g, plane, padded, offset, weights + k * taps, bias[k], out);
      }
    });
  });
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE

#include "kernels/conv2d_depthwise_backward.hpp"
