// The input error's pixel-vector block over the kernel rows of a phase (FastBackwardPlan::
// dx_row_taps) and its function table; compiled once per ISA like conv2d_fast_blocks.hpp, whose
// Simd traits, offsets and pixel-vector sizes it uses.
#pragma once

#include <cstddef>
#include <utility>

#include "kernels/conv2d_fast_blocks.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// ---- pixel-vector block over the kernel rows of a phase: as pvec_block, for the input error's
// taps grouped by kernel column. The phase's taps come in the order (kernel k, kernel row j,
// kernel column i), J rows and `columns` columns per kernel (backward_taps); its J kernel rows
// read E rows one apart (row j one row further up than row j - 1), so for a fixed (k, i) the
// RowCount output rows read the RowCount + J - 1 rows from the one tap (k, J-1, i) reads on:
// each is loaded once for all J taps, where pvec_block loads RowCount rows for each tap. The
// tap (k, j, i) weights lie weight_step floats after those of (k, 0, i). Each sum adds its taps
// in the order (k, i, j) instead of pvec_block's (k, j, i): a fixed order, given by the plan.
template <int OutputCount, int RowCount, int J>
void pvec_rows_block(const float* src, std::size_t src_row_step, const float* taps,
                     std::size_t kernels, std::size_t columns, std::size_t weight_step,
                     const float* wtab, int valid, float* dst, std::size_t dst_out_stride,
                     std::size_t dst_row_stride) {
  Reg acc[OutputCount][RowCount];
#pragma GCC unroll 8
  for (int o = 0; o < OutputCount; ++o) {
#pragma GCC unroll 16
    for (int r = 0; r < RowCount; ++r) acc[o][r] = Simd::zero();
  }
  for (std::size_t k = 0; k < kernels; ++k) {
    const float* kernel_taps = taps + 2 * k * J * columns;
    for (std::size_t i = 0; i < columns; ++i) {
      const float* s = src + offset_at(kernel_taps, 2 * ((J - 1) * columns + i));
      const float* w = wtab + offset_at(kernel_taps, 2 * i + 1);
      Reg wv[OutputCount][J];
#pragma GCC unroll 8
      for (int o = 0; o < OutputCount; ++o) {
#pragma GCC unroll 4
        for (int j = 0; j < J; ++j) wv[o][j] = Simd::broadcast(w + j * weight_step + o);
      }
      // Row m of those read feeds output row r = m - (J - 1) + j through kernel row j; from the
      // last row up, each sum takes its kernel rows in order j = 0, 1, ...
#pragma GCC unroll 24
      for (int m = RowCount + J - 2; m >= 0; --m) {
        Reg x = Simd::load(s + m * src_row_step);
        // Kept in a register: otherwise GCC folds the load into each of the J FMAs as a memory
        // operand and loads the row J times, which is what this block is for not doing.
        __asm__("" : "+v"(x));
#pragma GCC unroll 4
        for (int j = 0; j < J; ++j) {
          const int r = m - (J - 1) + j;
          if (r < 0 || r >= RowCount) continue;
#pragma GCC unroll 8
          for (int o = 0; o < OutputCount; ++o) acc[o][r] = Simd::fmadd(wv[o][j], x, acc[o][r]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int o = 0; o < OutputCount; ++o) {
#pragma GCC unroll 16
    for (int r = 0; r < RowCount; ++r) {
      Simd::store_first(dst + o * dst_out_stride + r * dst_row_stride, acc[o][r], valid);
    }
  }
}

using PvecRowsFn = void (*)(const float*, std::size_t, const float*, std::size_t, std::size_t,
                            std::size_t, const float*, int, float*, std::size_t, std::size_t);

// The vector registers of the ISA, and the kernel rows a pvec_rows_block takes at most.
inline constexpr int kVectorRegisters = kLanes == 16 ? 32 : 16;
inline constexpr int kMaxRowTaps = static_cast<int>(kFastMaxRowTaps);
inline constexpr int kMaxRowTapRows = static_cast<int>(kFastMaxRowTapRows);

template <int OutputCount, int RowCount, int J>
constexpr PvecRowsFn pvec_rows_entry() {
  // Accumulators, the J weights of every output, one row and a spare register must fit the
  // register file; the plan never asks for more (plan_backward), so larger shapes are not
  // compiled.
  if constexpr (OutputCount * (RowCount + J) + 2 > kVectorRegisters) {
    return nullptr;
  } else {
    return &pvec_rows_block<OutputCount, RowCount, J>;
  }
}

template <std::size_t... I>
PvecRowsFn pvec_rows_fn(int outputs, int rows, int j, std::index_sequence<I...>) {
  constexpr int kJs = kMaxRowTaps - 1;  // j in [2, kMaxRowTaps]
  static constexpr PvecRowsFn table[] = {
      pvec_rows_entry<static_cast<int>(I / (kMaxRowTapRows * kJs)) + 1,
                      static_cast<int>(I / kJs % kMaxRowTapRows) + 1,
                      static_cast<int>(I % kJs) + 2>()...};
  return table[((outputs - 1) * kMaxRowTapRows + (rows - 1)) * kJs + (j - 2)];
}

// outputs in [1, kMaxPvecSide], rows in [1, kMaxRowTapRows], j in [2, kMaxRowTaps], with
// outputs * (rows + j) + 2 at most kVectorRegisters.
inline PvecRowsFn pvec_rows_kernel(int outputs, int rows, int j) {
  return pvec_rows_fn(outputs, rows, j,
                      std::make_index_sequence<kMaxPvecSide * kMaxRowTapRows*(kMaxRowTaps - 1)>{});
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
