// The depthwise convolution's padded planes (conv2d_depthwise.hpp): short row copies, the
// vectors of the instruction set the including file is compiled for, and the polyphase plane.
// Include from conv2d_depthwise.hpp only (with CNNKIT_SIMD_NAMESPACE defined).
#pragma once

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string_view>
#include <type_traits>

#include "kernels/conv_geometry.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// to[0 .. count) = from[0 .. count) for a row of a plane: 64-byte blocks of constant size (32 or
// 16 below 64 bytes), the last one overlapping the one before, so that a row of a few dozen values
// costs a few vector moves rather than a library call (a layer copies tens of thousands of such
// rows).
template <typename T>
[[gnu::always_inline]] inline void copy_short_row(const T* from, std::size_t count, T* to) {
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

// The sums' vectors: one register of the instruction set the file is compiled for (64 bytes for
// AVX-512, 32 for AVX2 and the baseline: GCC builds a wider vector from a scalar through memory).
// Rows of output sums in flight at once: enough independent chains of multiply-adds to hide
// their latency (Rows x Chunk / lanes of them), as many as the registers hold (32 AVX-512, 16
// AVX2 or SSE).
#define CNNKIT_DEPTHWISE_NAME_(name) #name
#define CNNKIT_DEPTHWISE_NAME(name) CNNKIT_DEPTHWISE_NAME_(name)
inline constexpr bool kDepthwiseWide =
    std::string_view(CNNKIT_DEPTHWISE_NAME(CNNKIT_SIMD_NAMESPACE)) == "avx512";
inline constexpr std::size_t kDepthwiseVectorBytes = kDepthwiseWide ? 64 : 32;
inline constexpr std::size_t kDepthwiseRows = kDepthwiseWide ? 4 : 2;

// Float vectors of one register for the stride-2 rows' shuffles: even and odd lanes of a pair
// (split), and back (join).
typedef float DepthwiseFloats __attribute__((vector_size(kDepthwiseVectorBytes)));
template <std::size_t Lanes>
struct DepthwiseShuffles;
template <>
struct DepthwiseShuffles<16> {
  typedef float V __attribute__((vector_size(64)));
  static void split(V a, V b, V& even, V& odd) {
    even = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    odd = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  }
  static void join(V even, V odd, V& low, V& high) {
    low =
        __builtin_shufflevector(even, odd, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    high = __builtin_shufflevector(even, odd, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                   15, 31);
  }
};
template <>
struct DepthwiseShuffles<8> {
  typedef float V __attribute__((vector_size(32)));
  static void split(V a, V b, V& even, V& odd) {
    even = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
    odd = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
  }
  static void join(V even, V odd, V& low, V& high) {
    low = __builtin_shufflevector(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
    high = __builtin_shufflevector(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
  }
};

// A plane zero padded as the geometry says, in polyphase rows: column c of a padded row lies in
// phase c % sx at c / sx, so the columns one tap reads for consecutive outputs (sx apart) are
// consecutive whatever the stride. The input error is computed in the same layout. At stride 2
// a phase holds whole vectors of 16 and float rows go through zero padded plain rows (after the
// plane's slack), split into their phases (or joined from them) 32 values at a time.
template <typename T>
struct DepthwisePlane {
  static constexpr std::size_t kSlack = 32;  // what a row's last chunk reads past the plane
  static constexpr bool kShuffled = std::is_same_v<T, float>;
  const ConvGeometry& g;
  std::size_t padded_x = g.in_x + g.pad_x_before() + g.pad_x_after();
  std::size_t padded_y = g.in_y + g.pad_y_before() + g.pad_y_after();
  std::size_t phase_x = g.stride_x == 2 && kShuffled ? (padded_x + 31) / 32 * 16
                                                     : (padded_x + g.stride_x - 1) / g.stride_x;
  std::size_t row = phase_x * g.stride_x;  // elements of a polyphase row (>= padded_x)

  std::size_t size() const { return padded_y * row; }
  // The plane, its slack and, at stride 2, the plain rows.
  std::size_t scratch_size() const {
    return size() + kSlack + (g.stride_x == 2 && kShuffled ? g.in_y * row : 0);
  }

  // The interior of `padded` from `plane` (borders untouched; after scratch_size() zeros).
  void fill(const T* plane, T* padded) const {
    if (g.stride_x == 2 && kShuffled) {
      // All rows first, so that no load of a split waits on a store of the copy just before.
      T* const plain = padded + size() + kSlack;
      for (std::size_t y = 0; y < g.in_y; ++y) {
        copy_short_row(plane + y * g.in_x, g.in_x, plain + y * row + g.pad_x_before());
      }
      for (std::size_t y = 0; y < g.in_y; ++y) {
        split_row(plain + y * row, padded + (y + g.pad_y_before()) * row);
      }
      return;
    }
    for (std::size_t y = 0; y < g.in_y; ++y) {
      const T* source = plane + y * g.in_x;
      T* target = padded + (y + g.pad_y_before()) * row;
      if (g.stride_x == 1) {
        copy_short_row(source, g.in_x, target + g.pad_x_before());
      } else {
        each_phase([&](std::size_t to, std::size_t from) { target[to] = source[from]; });
      }
    }
  }
  // `plane` from the interior of `padded`: fill's inverse (it overwrites the plain rows).
  void extract(const T* padded, T* plane) const {
    if (g.stride_x == 2 && kShuffled) {
      T* const plain = const_cast<T*>(padded) + size() + kSlack;
      for (std::size_t y = 0; y < g.in_y; ++y) {
        join_row(padded + (y + g.pad_y_before()) * row, plain + y * row);
      }
      for (std::size_t y = 0; y < g.in_y; ++y) {
        copy_short_row(plain + y * row + g.pad_x_before(), g.in_x, plane + y * g.in_x);
      }
      return;
    }
    for (std::size_t y = 0; y < g.in_y; ++y) {
      const T* source = padded + (y + g.pad_y_before()) * row;
      T* target = plane + y * g.in_x;
      if (g.stride_x == 1) {
        copy_short_row(source + g.pad_x_before(), g.in_x, target);
      } else {
        each_phase([&](std::size_t to, std::size_t from) { target[from] = source[to]; });
      }
    }
  }
  // Where output row i, tap (u, v) reads output 0's input; output j's is j further.
  std::size_t at(std::size_t i, std::size_t u, std::size_t v) const {
    const std::size_t c = v * g.dilation_x;
    return (i * g.stride_y + u * g.dilation_y) * row + c % g.stride_x * phase_x + c / g.stride_x;
  }

 private:
  // A plain padded row of stride 2 into its two phases, and back, a register at a time.
  void split_row(const T* plain, T* target) const {
    constexpr std::size_t kLanes = sizeof(DepthwiseFloats) / sizeof(float);
    for (std::size_t k = 0; k < phase_x; k += kLanes) {
      DepthwiseFloats a, b, even, odd;
      std::memcpy(&a, plain + 2 * k, sizeof(a));
      std::memcpy(&b, plain + 2 * k + kLanes, sizeof(b));
      DepthwiseShuffles<kLanes>::split(a, b, even, odd);
      std::memcpy(target + k, &even, sizeof(even));
      std::memcpy(target + phase_x + k, &odd, sizeof(odd));
    }
  }
  void join_row(const T* source, T* plain) const {
    constexpr std::size_t kLanes = sizeof(DepthwiseFloats) / sizeof(float);
    for (std::size_t k = 0; k < phase_x; k += kLanes) {
      DepthwiseFloats even, odd, low, high;
      std::memcpy(&even, source + k, sizeof(even));
      std::memcpy(&odd, source + phase_x + k, sizeof(odd));
      DepthwiseShuffles<kLanes>::join(even, odd, low, high);
      std::memcpy(plain + 2 * k, &low, sizeof(low));
      std::memcpy(plain + 2 * k + kLanes, &high, sizeof(high));
    }
  }
  // move(position in a polyphase row, column of the plain row) for every column x of a row,
  // phase by phase (column c = x + pad in phase p = c % sx at c / sx).
  template <typename Move>
  void each_phase(const Move& move) const {
    const std::size_t pad = g.pad_x_before(), end = pad + g.in_x, sx = g.stride_x;
    for (std::size_t p = 0; p < sx; ++p) {
      std::size_t k = p >= pad ? 0 : (pad - p + sx - 1) / sx;
      for (; k * sx + p < end; ++k) move(p * phase_x + k, k * sx + p - pad);
    }
  }
};

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
