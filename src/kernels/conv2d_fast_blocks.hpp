// The register blocks of the fast convolution kernels: small fixed-size loops that keep their
// accumulators in SIMD registers for a whole reduction (the weight gradient's blocks are in
// conv2d_fast_dw_blocks.hpp). Written once against `Simd` (the register traits of one
// instruction set) and compiled once per ISA: simd_kernels_avx512.cpp / simd_kernels_avx2.cpp
// define CNNKIT_SIMD_NAMESPACE, include their simd_*.hpp and then this file after a
// `#pragma GCC target`, so each ISA gets its own copy in its own namespace.
//
// Offsets (taps, pixels) live in the float workspace as raw int32 bits (offset_at/set_offset), so
// that a call needs no memory besides the caller's workspace.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/conv2d_fast_plan.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

using Reg = Simd::Reg;
inline constexpr int kLanes = Simd::kLanes;

inline std::int32_t offset_at(const float* table, std::size_t index) {
  std::int32_t value;
  std::memcpy(&value, table + index, sizeof value);
  return value;
}

inline void set_offset(float* table, std::size_t index, std::ptrdiff_t value) {
  const auto narrow = static_cast<std::int32_t>(value);
  std::memcpy(table + index, &narrow, sizeof narrow);
}

// The transpose (below) of the element-wise sum of `count` matrices of the same shape that lie
// `src_stride` floats apart, added in order (the one at src, then src + src_stride, ...): the
// weight gradient's per-group partial sums reduced on the way out, with no pass of their own.
// Source column c goes to destination row dst_row(c).
template <typename DstRow>
void transpose_sum_to(const float* src, std::size_t count, std::size_t src_stride, std::size_t rows,
                      std::size_t cols, std::size_t src_ld, float* dst, std::size_t dst_ld,
                      DstRow dst_row) {
  // Prefetch distance: the next tile row when a row of tiles is short (the partial sums, whose
  // next rows lie far apart), else 4 tiles ahead along the rows (E, a sample's long rows).
  const std::size_t ahead = cols <= 16 * kLanes ? kLanes * src_ld : 4 * kLanes;
  for (std::size_t r0 = 0; r0 < rows; r0 += kLanes) {
    const int nr = static_cast<int>(rows - r0 < kLanes ? rows - r0 : kLanes);
    for (std::size_t c0 = 0; c0 < cols; c0 += kLanes) {
      const int nc = static_cast<int>(cols - c0 < kLanes ? cols - c0 : kLanes);
      Reg tile[kLanes];
      if (count == 1 && nr == kLanes && nc == kLanes) {
        // A whole tile of one source: loaded transposed (Simd::load_transposed says why).
        for (int i = 0; i < kLanes; ++i) {
          _mm_prefetch(reinterpret_cast<const char*>(
                           reinterpret_cast<std::uintptr_t>(src + (r0 + i) * src_ld + c0 + ahead)),
                       _MM_HINT_T0);
        }
        Simd::load_transposed(src + r0 * src_ld + c0, src_ld, tile);
        for (int c = 0; c < kLanes; ++c) Simd::store(dst + dst_row(c0 + c) * dst_ld + r0, tile[c]);
        continue;
      }
      if (nr <= 2) {
        // One or two source rows (a transpose of one channel's taps, say): element by element,
        // the same sums in the same order, without a whole tile's shuffles for them.
        for (int i = 0; i < nr; ++i) {
          const std::size_t at = (r0 + i) * src_ld + c0;
          for (int c = 0; c < nc; ++c) {
            float sum = src[at + c];
            for (std::size_t s = 1; s < count; ++s) sum += src[s * src_stride + at + c];
            dst[dst_row(c0 + c) * dst_ld + r0 + i] = sum;
          }
        }
        continue;
      }
      for (int i = 0; i < kLanes; ++i) {
        if (i >= nr) {
          tile[i] = Simd::zero();
          continue;
        }
        const std::size_t at = (r0 + i) * src_ld + c0;
        // The sources come from L3 or the other cores' caches, whose latency the loads of one
        // tile alone do not hide.
        for (std::size_t s = 0; s < count; ++s) {
          _mm_prefetch(reinterpret_cast<const char*>(
                           reinterpret_cast<std::uintptr_t>(src + s * src_stride + at + ahead)),
                       _MM_HINT_T0);
        }
        tile[i] = Simd::load_first(src + at, nc);
        for (std::size_t s = 1; s < count; ++s) {
          tile[i] = Simd::add(tile[i], Simd::load_first(src + s * src_stride + at, nc));
        }
      }
      Simd::transpose(tile);
      for (int c = 0; c < nc; ++c) {
        Simd::store_first(dst + dst_row(c0 + c) * dst_ld + r0, tile[c], nr);
      }
    }
  }
}

inline void transpose_sum(const float* src, std::size_t count, std::size_t src_stride,
                          std::size_t rows, std::size_t cols, std::size_t src_ld, float* dst,
                          std::size_t dst_ld) {
  transpose_sum_to(src, count, src_stride, rows, cols, src_ld, dst, dst_ld,
                   [](std::size_t c) { return c; });
}

// dst[c * dst_ld + r] = src[r * src_ld + c] for r < rows, c < cols, in kLanes x kLanes tiles
// (masked at the edges: nothing outside the two matrices is read or written).
inline void transpose(const float* src, std::size_t rows, std::size_t cols, std::size_t src_ld,
                      float* dst, std::size_t dst_ld) {
  transpose_sum(src, 1, 0, rows, cols, src_ld, dst, dst_ld);
}

// The blocked output of pixel-pair registers back to rows: src holds `pairs` registers
// (kLanes floats each: kLanes/2 channels, two neighbouring pixels each); channel c's pixel pair
// p goes to dst + c * dst_ld + 2p, for c < channels; as max(0, x) with `rectify` (a fused ReLU).
inline void transpose_pairs(const float* src, std::size_t pairs, std::size_t channels, float* dst,
                            std::size_t dst_ld, bool rectify = false) {
  constexpr std::size_t kPairs = kLanes / 2;
  for (std::size_t p0 = 0; p0 < pairs; p0 += kPairs) {
    const std::size_t n = pairs - p0 < kPairs ? pairs - p0 : kPairs;
    Reg tile[kPairs];
    for (std::size_t i = 0; i < kPairs; ++i) {
      tile[i] = i < n ? Simd::load(src + (p0 + i) * kLanes) : Simd::zero();
    }
    Simd::transpose_pairs(tile);
    for (std::size_t c = 0; c < channels; ++c) {
      if (rectify) tile[c] = Simd::rectify(tile[c]);
      Simd::store_first(dst + c * dst_ld + 2 * p0, tile[c], static_cast<int>(2 * n));
    }
  }
}

// The FMAs of taps [begin, end) for the block's units [SkipFirst, Units - SkipLast): ovec_block's
// main loop,
// and its loops over the taps whose first or last unit would read only zero padding.
template <int ChannelRegisters, int Units, int PixelsPerUnit, int SkipFirst, int SkipLast,
          int SourceStep>
inline void ovec_taps(Reg (&acc)[ChannelRegisters][Units], const float* src, const float* taps,
                      std::size_t begin, std::size_t end, const float* vec) {
  for (std::size_t t = begin; t < end; ++t) {
    const float* s = src + offset_at(taps, 2 * t);
    const float* w = vec + offset_at(taps, 2 * t + 1);
    Reg wv[ChannelRegisters];
#pragma GCC unroll 4
    for (int kb = 0; kb < ChannelRegisters; ++kb) wv[kb] = Simd::load(w + kb * kLanes);
#pragma GCC unroll 32
    for (int r = SkipFirst; r < Units - SkipLast; ++r) {
      const Reg x = PixelsPerUnit == 1 ? Simd::broadcast(s + SourceStep * r)
                                       : Simd::broadcast_pair(s + 2 * r);
#pragma GCC unroll 4
      for (int kb = 0; kb < ChannelRegisters; ++kb) acc[kb][r] = Simd::fmadd(wv[kb], x, acc[kb][r]);
    }
  }
}

// Which taps a block runs: the first `all` for every unit, then `skip_first` taps that leave
// out the first unit and `skip_last` that leave out the last one (FastForwardPlan's
// skip_columns_first / skip_columns_last: kernel columns that read only the zero padding left or
// right of the image there).
// Blocks take it by reference: passed by value, the caller wrote it to the stack in 8-byte
// stores and the callee copied it with one 16-byte load, which cannot be forwarded from two
// stores and so waited for every store before it to reach L1, a planar block's 32 output
// rows among them.
struct BlockTaps {
  std::size_t all = 0, skip_first = 0, skip_last = 0;
  bool rectify = false;  // planar blocks: a fused ReLU, max(0, y), in registers before the store
};

// ---- output-vector block: ChannelRegisters registers of kLanes output channels for each of
// `Units` units (pixels, or pixel pairs). For every tap t (an input channel and kernel position,
// or for the input error a kernel and position): out[kb][r] += vec[tap.vec + kb*L .. +L] *
// src[tap.src + r]. The units read consecutive source floats (the polyphase input layout makes
// that true for any stride), or with SourceStep = 2 every other float (a stride-2 input read in
// place: FastForwardPlan::in_place).
// Results go to dst + kb * dst_block_stride + r * dst_pixel_stride (kLanes floats each). The
// sums start from what dst holds (init == dst, a later chunk of taps), from the ChannelRegisters
// vectors at init, or from zero (init == nullptr).
// With PixelsPerUnit = 2 a register holds kLanes/2 channels of two neighbouring pixels (lane
// 2c + q: channel c, pixel 2r + q), each weight stored twice in vec, and r counts pixel pairs: one
// broadcast of two floats then feeds ChannelRegisters FMAs where a single-pixel block of half as
// many channels feeds one.
// Planar (Units <= kLanes / PixelsPerUnit): the results go straight to channel planes instead,
// channel l of register kb to dst + kb * dst_block_stride + l * dst_pixel_stride (Units *
// PixelsPerUnit consecutive floats; the pixel stride is then the distance between planes),
// transposed in registers on the way out; the sums start from init or zero, never from dst.
template <int ChannelRegisters, int Units, int PixelsPerUnit = 1, bool Planar = false,
          int SourceStep = 1>
void ovec_block(const float* src, const float* taps, const BlockTaps& tap_count, const float* vec,
                const float* init, float* dst, std::size_t dst_pixel_stride,
                std::size_t dst_block_stride) {
  Reg acc[ChannelRegisters][Units];
#pragma GCC unroll 4
  for (int kb = 0; kb < ChannelRegisters; ++kb) {
    const Reg start =
        init != nullptr && init != dst ? Simd::load(init + kb * kLanes) : Simd::zero();
#pragma GCC unroll 32
    for (int r = 0; r < Units; ++r) {
      acc[kb][r] =
          init == dst ? Simd::load(dst + kb * dst_block_stride + r * dst_pixel_stride) : start;
    }
  }
  std::size_t t = tap_count.all;
  static_assert(PixelsPerUnit == 1 || SourceStep == 1, "pixel pairs read neighbouring floats");
  ovec_taps<ChannelRegisters, Units, PixelsPerUnit, 0, 0, SourceStep>(acc, src, taps, 0, t, vec);
  if constexpr (Units > 1) {
    ovec_taps<ChannelRegisters, Units, PixelsPerUnit, 1, 0, SourceStep>(
        acc, src, taps, t, t + tap_count.skip_first, vec);
    t += tap_count.skip_first;
    ovec_taps<ChannelRegisters, Units, PixelsPerUnit, 0, 1, SourceStep>(
        acc, src, taps, t, t + tap_count.skip_last, vec);
  }
  if constexpr (Planar) {
    // acc[kb][r] lane l is channel l of pixel r: a kLanes x kLanes tile of pixels x channels,
    // transposed to channels x pixels (in pairs: kLanes/2 by kLanes/2 pixel pairs by channels,
    // each pair moving as one 64-bit element). The rows past Units repeat row Units - 1 (no
    // register to zero): their columns are never stored.
    constexpr int kRows = kLanes / PixelsPerUnit;
    static_assert(Units <= kRows, "a planar block stores one tile of pixels per register");
#pragma GCC unroll 4
    for (int kb = 0; kb < ChannelRegisters; ++kb) {
      Reg tile[kRows];
#pragma GCC unroll 32
      for (int r = 0; r < kRows; ++r) tile[r] = acc[kb][r < Units ? r : Units - 1];
      if constexpr (PixelsPerUnit == 1) {
        Simd::transpose(tile);
      } else {
        Simd::transpose_pairs(tile);
      }
#pragma GCC unroll 32
      for (int l = 0; l < kRows; ++l) {
        if (tap_count.rectify) tile[l] = Simd::rectify(tile[l]);
        Simd::store_first(dst + kb * dst_block_stride + l * dst_pixel_stride, tile[l],
                          Units * PixelsPerUnit);
      }
    }
  } else {
#pragma GCC unroll 4
    for (int kb = 0; kb < ChannelRegisters; ++kb) {
#pragma GCC unroll 32
      for (int r = 0; r < Units; ++r) {
        Simd::store(dst + kb * dst_block_stride + r * dst_pixel_stride, acc[kb][r]);
      }
    }
  }
}

// ---- pixel-vector block: OutputCount outputs (channels) x RowCount rows, each a register of
// kLanes pixels
// of one row. For every tap: out[o][r] += wtab[tap.vec + o] * src[tap.src + r*src_row_step ..
// + kLanes]. Only the first `valid` pixels of each register are stored.
// As a Line, the "rows" are RowCount registers of one row side by side (src_row_step and
// dst_row_stride kLanes), and only the last register is cut to `valid` pixels: a phase of a
// single row (1-D layers) then keeps RowCount independent sums in flight instead of one.
template <int OutputCount, int RowCount, bool Line = false>
void pvec_block(const float* src, std::size_t src_row_step, const float* taps,
                std::size_t tap_count, const float* wtab, const float* init, int valid, float* dst,
                std::size_t dst_out_stride, std::size_t dst_row_stride) {
  Reg acc[OutputCount][RowCount];
#pragma GCC unroll 8
  for (int o = 0; o < OutputCount; ++o) {
    const Reg start = init != nullptr ? Simd::set1(init[o]) : Simd::zero();
#pragma GCC unroll 8
    for (int r = 0; r < RowCount; ++r) acc[o][r] = start;
  }
  for (std::size_t t = 0; t < tap_count; ++t) {
    const float* s = src + offset_at(taps, 2 * t);
    const float* w = wtab + offset_at(taps, 2 * t + 1);
    Reg x[RowCount];
#pragma GCC unroll 8
    for (int r = 0; r < RowCount; ++r) x[r] = Simd::load(s + r * src_row_step);
#pragma GCC unroll 8
    for (int o = 0; o < OutputCount; ++o) {
      const Reg wv = Simd::broadcast(w + o);
#pragma GCC unroll 8
      for (int r = 0; r < RowCount; ++r) acc[o][r] = Simd::fmadd(wv, x[r], acc[o][r]);
    }
  }
#pragma GCC unroll 8
  for (int o = 0; o < OutputCount; ++o) {
#pragma GCC unroll 8
    for (int r = 0; r < RowCount; ++r) {
      float* to = dst + o * dst_out_stride + r * dst_row_stride;
      if (Line && r + 1 < RowCount) {
        Simd::store(to, acc[o][r]);
      } else {
        Simd::store_first(to, acc[o][r], valid);
      }
    }
  }
}

// ---- function tables: the drivers pick block sizes at run time.
using OvecFn = void (*)(const float*, const float*, const BlockTaps&, const float*, const float*,
                        float*, std::size_t, std::size_t);
using PvecFn = void (*)(const float*, std::size_t, const float*, std::size_t, const float*,
                        const float*, int, float*, std::size_t, std::size_t);

inline constexpr int kMaxOvecPixels = Simd::kMaxAccumulators;
inline constexpr int kMaxPvecSide = 8;  // outputs and rows of a pixel-vector block

template <int ChannelRegisters, int PixelsPerUnit, std::size_t... I>
OvecFn ovec_fn(int pixels, std::index_sequence<I...>) {
  static constexpr OvecFn table[] = {
      &ovec_block<ChannelRegisters, static_cast<int>(I) + 1, PixelsPerUnit>...};
  return table[pixels - 1];
}

// pixels (or pixel pairs) in [1, kMaxAccumulators / blocks]; blocks 1 or 2.
inline OvecFn ovec_kernel(int blocks, int pixels, bool pairs = false) {
  constexpr auto kOne = std::make_index_sequence<kMaxOvecPixels>{};
  constexpr auto kTwo = std::make_index_sequence<kMaxOvecPixels / 2>{};
  if (pairs) return blocks == 2 ? ovec_fn<2, 2>(pixels, kTwo) : ovec_fn<1, 2>(pixels, kOne);
  return blocks == 2 ? ovec_fn<2, 1>(pixels, kTwo) : ovec_fn<1, 1>(pixels, kOne);
}

template <int PixelsPerUnit, int SourceStep, std::size_t... I>
OvecFn ovec_planar_fn(int pixels, std::index_sequence<I...>) {
  static constexpr OvecFn table[] = {
      &ovec_block<2, static_cast<int>(I) + 1, PixelsPerUnit, true, SourceStep>...};
  return table[pixels - 1];
}

// The planar block of two registers of channels: pixels (or pixel pairs) in [1,
// kMaxPlanarPixels] (or [1, kLanes / 2]); single pixels `step` (1 or 2) floats apart.
inline constexpr int kMaxPlanarPixels = kLanes < kMaxOvecPixels / 2 ? kLanes : kMaxOvecPixels / 2;
inline OvecFn ovec_planar_kernel(int pixels, bool pairs, std::size_t step = 1) {
  if (pairs) return ovec_planar_fn<2, 1>(pixels, std::make_index_sequence<kLanes / 2>{});
  if (step == 2) return ovec_planar_fn<1, 2>(pixels, std::make_index_sequence<kMaxPlanarPixels>{});
  return ovec_planar_fn<1, 1>(pixels, std::make_index_sequence<kMaxPlanarPixels>{});
}

template <bool Line, std::size_t... I>
PvecFn pvec_fn(int outputs, int rows, std::index_sequence<I...>) {
  static constexpr PvecFn table[] = {&pvec_block<static_cast<int>(I / kMaxPvecSide) + 1,
                                                 static_cast<int>(I % kMaxPvecSide) + 1, Line>...};
  return table[(outputs - 1) * kMaxPvecSide + (rows - 1)];
}

// outputs, rows in [1, kMaxPvecSide].
inline PvecFn pvec_kernel(int outputs, int rows) {
  return pvec_fn<false>(outputs, rows, std::make_index_sequence<kMaxPvecSide * kMaxPvecSide>{});
}

// pvec_block as a Line of `registers` registers of one row; outputs, registers in
// [1, kMaxPvecSide].
inline PvecFn pvec_line_kernel(int outputs, int registers) {
  return pvec_fn<true>(outputs, registers, std::make_index_sequence<kMaxPvecSide * kMaxPvecSide>{});
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
