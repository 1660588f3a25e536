// The weight-gradient register blocks of the fast convolution kernels: dW[k, c, u, v] summed over
// the pixels of a pass with the accumulators in registers, either registers of kernels (dw_block,
// the output-vector layout) or registers of output columns (dwp_block, for few kernels). Compiled
// once per ISA after conv2d_fast_blocks.hpp (which says how, and gives Reg, kLanes, offset_at).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/conv2d_fast_blocks.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// ---- weight-gradient block: KernelRegisters registers of kLanes kernels for each of
// KernelRowCount kernel rows (c, u) times ColumnCount columns v. For every pixel p (of every
// sample in the pass):
//   acc[kb][cu][v] += error_t[p*error_step + kb*L .. +L] * base[cu][pixel_offset[p] + v]
// accumulated onto what acc_mem holds (acc_mem + cu*row_stride + v*v_stride + kb*L), or from
// zero when `fresh` (a group's first pass: its partial sums need no zeroing beforehand).
// With PixelsPerStep = 2 the pixels go in pairs of neighbouring output columns (stride 1: pixel
// p + 1 reads one float to the right of pixel p, and pixel_count is even): input float m of a row
// feeds column m of pixel p and column m - 1 of pixel p + 1, so ColumnCount + 1 broadcasts feed
// 2 * ColumnCount columns where one pixel at a time takes ColumnCount broadcasts for ColumnCount
// (with one register of kernels that is a broadcast per FMA). Each sum still takes pixel p before
// pixel p + 1, so the result is the same bit for bit.
template <int KernelRegisters, int KernelRowCount, int ColumnCount, int PixelsPerStep = 1>
void dw_block(const float* const* bases, const float* pixel_offsets, std::size_t pixel_count,
              const float* error_t, std::size_t error_step, bool fresh, float* acc_mem,
              std::size_t row_stride, std::size_t v_stride) {
  static_assert(PixelsPerStep == 1 || PixelsPerStep == 2,
                "one pixel or a pair of neighbouring columns per step");
  const float* base[KernelRowCount];
#pragma GCC unroll 32
  for (int cu = 0; cu < KernelRowCount; ++cu) base[cu] = bases[cu];
  Reg acc[KernelRegisters][KernelRowCount][ColumnCount];
#pragma GCC unroll 4
  for (int kb = 0; kb < KernelRegisters; ++kb) {
#pragma GCC unroll 32
    for (int cu = 0; cu < KernelRowCount; ++cu) {
#pragma GCC unroll 8
      for (int v = 0; v < ColumnCount; ++v) {
        acc[kb][cu][v] = fresh ? Simd::zero()
                               : Simd::load(acc_mem + cu * row_stride + v * v_stride + kb * kLanes);
      }
    }
  }
  for (std::size_t p = 0; p < pixel_count; p += PixelsPerStep) {
    const std::int32_t offset = offset_at(pixel_offsets, p);
    Reg e[PixelsPerStep][KernelRegisters];
#pragma GCC unroll 2
    for (int q = 0; q < PixelsPerStep; ++q) {
#pragma GCC unroll 4
      for (int kb = 0; kb < KernelRegisters; ++kb)
        e[q][kb] = Simd::load(error_t + (p + q) * error_step + kb * kLanes);
    }
#pragma GCC unroll 32
    for (int cu = 0; cu < KernelRowCount; ++cu) {
#pragma GCC unroll 9
      for (int m = 0; m < ColumnCount + PixelsPerStep - 1; ++m) {
        const Reg x = Simd::broadcast(base[cu] + offset + m);
#pragma GCC unroll 2
        for (int q = 0; q < PixelsPerStep; ++q) {
          const int v = m - q;  // the column pixel p + q reads input float m with
          if (v < 0 || v >= ColumnCount) continue;
#pragma GCC unroll 4
          for (int kb = 0; kb < KernelRegisters; ++kb) {
            acc[kb][cu][v] = Simd::fmadd(e[q][kb], x, acc[kb][cu][v]);
          }
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int kb = 0; kb < KernelRegisters; ++kb) {
#pragma GCC unroll 32
    for (int cu = 0; cu < KernelRowCount; ++cu) {
#pragma GCC unroll 8
      for (int v = 0; v < ColumnCount; ++v) {
        Simd::store(acc_mem + cu * row_stride + v * v_stride + kb * kLanes, acc[kb][cu][v]);
      }
    }
  }
}

// ---- pixel-vector weight-gradient block, for few kernels (K below a register): KernelCount
// kernels x ColumnCount columns v of one kernel row (c, u), each accumulator a register of kLanes
// neighbouring output columns j whose lanes are summed only at the very end:
//   acc[kr][v][lane] += E[s, k0 + kr, i, j] * X[s, c, i*sy + u, j*sx + v]   (j = j0 + lane)
// over every sample s of the pass, output row i and column chunk j0 (masked past out_x); onto
// what acc_mem holds, or from zero when `fresh` (as in dw_block). The padded rows are in sx
// phases of phase_x floats (FastBackwardPlan::dw_phase_x): column j*sx + v at j + v / sx of
// phase v % sx. (Not Strided, sx = 1: column v at v, a compile-time offset, so the stride-1
// blocks compute no addresses at run time.)
template <int KernelCount, int ColumnCount, bool Strided>
void dwp_block(const float* x, std::size_t sx, std::size_t phase_x, std::size_t x_sample,
               std::size_t x_row, const float* e, std::size_t e_sample, std::size_t e_kernel,
               std::size_t samples, std::size_t out_y, std::size_t out_x, bool fresh,
               float* acc_mem) {
  std::size_t column[ColumnCount];
#pragma GCC unroll 8
  for (int v = 0; v < ColumnCount; ++v) {
    const auto at = static_cast<std::size_t>(v);
    column[v] = Strided ? at % sx * phase_x + at / sx : at;
  }
  Reg acc[KernelCount][ColumnCount];
#pragma GCC unroll 8
  for (int kr = 0; kr < KernelCount; ++kr) {
#pragma GCC unroll 8
    for (int v = 0; v < ColumnCount; ++v) {
      acc[kr][v] = fresh ? Simd::zero() : Simd::load(acc_mem + (kr * ColumnCount + v) * kLanes);
    }
  }
  for (std::size_t s = 0; s < samples; ++s) {
    for (std::size_t i = 0; i < out_y; ++i) {
      const float* x_line = x + s * x_sample + i * x_row;
      const float* e_line = e + s * e_sample + i * out_x;
      for (std::size_t j0 = 0; j0 < out_x; j0 += kLanes) {
        const int n = static_cast<int>(out_x - j0 < kLanes ? out_x - j0 : kLanes);
        Reg ev[KernelCount];
#pragma GCC unroll 8
        for (int kr = 0; kr < KernelCount; ++kr)
          ev[kr] = Simd::load_first(e_line + kr * e_kernel + j0, n);
#pragma GCC unroll 8
        for (int v = 0; v < ColumnCount; ++v) {
          const Reg xv = Simd::load_first(x_line + column[v] + j0, n);
#pragma GCC unroll 8
          for (int kr = 0; kr < KernelCount; ++kr) acc[kr][v] = Simd::fmadd(ev[kr], xv, acc[kr][v]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int kr = 0; kr < KernelCount; ++kr) {
#pragma GCC unroll 8
    for (int v = 0; v < ColumnCount; ++v)
      Simd::store(acc_mem + (kr * ColumnCount + v) * kLanes, acc[kr][v]);
  }
}

// ---- function tables: the backward driver picks block sizes at run time.
using DwFn = void (*)(const float* const*, const float*, std::size_t, const float*, std::size_t,
                      bool, float*, std::size_t, std::size_t);
using DwpFn = void (*)(const float*, std::size_t, std::size_t, std::size_t, std::size_t,
                       const float*, std::size_t, std::size_t, std::size_t, std::size_t,
                       std::size_t, bool, float*);

template <bool Strided, std::size_t... I>
DwpFn dwp_fn(int kernels, int columns, std::index_sequence<I...>) {
  static constexpr DwpFn table[] = {
      &dwp_block<static_cast<int>(I / 8) + 1, static_cast<int>(I % 8) + 1, Strided>...};
  return table[(kernels - 1) * 8 + (columns - 1)];
}

// kernels, columns in [1, 8]; strided: a horizontal stride above 1 (rows in phases).
inline DwpFn dwp_kernel(int kernels, int columns, bool strided) {
  return strided ? dwp_fn<true>(kernels, columns, std::make_index_sequence<64>{})
                 : dwp_fn<false>(kernels, columns, std::make_index_sequence<64>{});
}

// Kernel rows per weight-gradient block for `blocks` kernel registers and `columns` columns.
constexpr int dw_rows_for(int blocks, int columns) {
  const int rows = Simd::kMaxAccumulators / (blocks * columns);
  return rows < 1 ? 1 : rows;
}

template <int KernelRegisters, int PixelsPerStep, int ColumnCount, std::size_t... R>
DwFn dw_rows_fn(int rows, std::index_sequence<R...>) {
  static constexpr DwFn table[] = {
      &dw_block<KernelRegisters, static_cast<int>(R) + 1, ColumnCount, PixelsPerStep>...};
  return table[rows - 1];
}

template <int KernelRegisters, int PixelsPerStep, int ColumnCount>
DwFn dw_rows_fn(int rows) {
  return dw_rows_fn<KernelRegisters, PixelsPerStep, ColumnCount>(
      rows, std::make_index_sequence<dw_rows_for(KernelRegisters, ColumnCount)>{});
}

template <int KernelRegisters, int PixelsPerStep, std::size_t... I>
DwFn dw_fn(int rows, int columns, std::index_sequence<I...>) {
  static constexpr DwFn (*table[])(int) = {
      &dw_rows_fn<KernelRegisters, PixelsPerStep, static_cast<int>(I) + 1>...};
  return table[columns - 1](rows);
}

// A block of `rows` kernel rows (1 <= rows <= dw_rows_for(blocks, columns)); columns in [1, 8];
// pixels one at a time or, for one register of kernels, in pairs of neighbouring columns
// (dw_block's PixelsPerStep). Every row count has its block: the rows of a weight gradient that
// reads a padded copy go in near-equal blocks (a remainder in blocks of one row would issue a
// load per FMA or two), a direct one takes a divisor of C, and its edge column groups (fewer
// columns) keep the rows of the full group.
inline DwFn dw_kernel(int blocks, int rows, int columns, bool pairs) {
  constexpr auto kColumns = std::make_index_sequence<8>{};
  if (blocks == 2) return dw_fn<2, 1>(rows, columns, kColumns);
  return pairs ? dw_fn<1, 2>(rows, columns, kColumns) : dw_fn<1, 1>(rows, columns, kColumns);
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
