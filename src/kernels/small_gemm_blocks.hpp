// The register blocks of small_gemm (small_gemm.hpp), the fully connected layer's products:
// written once against `Simd` and compiled once per ISA, like the convolution blocks
// (conv2d_fast_blocks.hpp says how, and is included first: Reg), from simd_kernels_avx512.cpp and
// simd_kernels_avx2.cpp.
//
// C (m x n) = init + A B is an outer product per step p of the reduction: row r of C gains
// A(r, p) times row p of B. A block keeps R rows x J registers of C (gemm_block's Rows and
// ColumnRegisters) in registers for a whole
// panel of p, loads J registers of B's row p once for all R rows and broadcasts one float of A
// per row, so R x J FMAs cost J loads and R broadcasts. Every element is one chain of FMAs in
// the order p = 0, 1, ..., k - 1, started from init (or zero): the bits of the plain loop with
// std::fma, whatever the blocking.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// A(r, p) = a[r * a_row + p * a_depth]; B's row p at b + p * ldb: J whole registers, packed by
// small_gemm below (64-byte aligned, zeros past C's last column); C's row r at c + r * ldc, of
// which the last register holds `tail` lanes (1..kLanes). `start`: 0 from zero, 1 from the row
// `init`, 2 from what C holds (a later panel of p).
template <int Rows, int ColumnRegisters>
void gemm_block(const float* a, std::size_t a_row, std::size_t a_depth, std::size_t depth,
                const float* b, std::size_t ldb, int tail, int start, const float* init, float* c,
                std::size_t ldc) {
  Reg acc[Rows][ColumnRegisters];
#pragma GCC unroll 8
  for (int j = 0; j < ColumnRegisters; ++j) {
    const int lanes = j + 1 < ColumnRegisters ? Simd::kLanes : tail;
    const Reg first = start == 1 ? Simd::load_first(init + j * Simd::kLanes, lanes) : Simd::zero();
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
      acc[r][j] = start == 2 ? Simd::load_first(c + r * ldc + j * Simd::kLanes, lanes) : first;
    }
  }
  // The R broadcasts first, then one register of B at a time: R * J accumulators, R
  // broadcasts and one B register in flight (all J of B at once would need J + 1 + R * J).
  for (std::size_t p = 0; p < depth; ++p) {
    const float* row = b + p * ldb;
    const float* column = a + p * a_depth;
    Reg x[Rows];
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) x[r] = Simd::broadcast(column + r * a_row);
#pragma GCC unroll 8
    for (int j = 0; j < ColumnRegisters; ++j) {
      const Reg bv = Simd::load(row + j * Simd::kLanes);
#pragma GCC unroll 8
      for (int r = 0; r < Rows; ++r) acc[r][j] = Simd::fmadd(bv, x[r], acc[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 8
    for (int j = 0; j < ColumnRegisters; ++j) {
      Simd::store_first(c + r * ldc + j * Simd::kLanes, acc[r][j],
                        j + 1 < ColumnRegisters ? Simd::kLanes : tail);
    }
  }
}

// At most this many registers of C's columns and rows per block; R rows x J registers need
// R * J + R + 1 of the vector registers (32 zmm, 16 ymm: kMaxAccumulators + 4).
inline constexpr int kGemmMaxColumns = 8;
inline constexpr int kGemmMaxRows = 8;
inline constexpr int kGemmRegisters = Simd::kMaxAccumulators + 4;
constexpr int gemm_rows_for(int columns) {
  const int rows = (kGemmRegisters - 1) / (columns + 1);
  return rows < kGemmMaxRows ? rows : kGemmMaxRows;
}

using GemmFn = void (*)(const float*, std::size_t, std::size_t, std::size_t, const float*,
                        std::size_t, int, int, const float*, float*, std::size_t);

// gemm_block<R, J> (Rows, ColumnRegisters) for R in [1, kGemmMaxRows], J in [1, kGemmMaxColumns]
// with R within gemm_rows_for(J) (other entries are never asked for and hold <1, 1>).
template <std::size_t... I>
constexpr auto gemm_table(std::index_sequence<I...>) {
  constexpr auto entry = []<std::size_t Index>() -> GemmFn {
    constexpr int r = static_cast<int>(Index) / kGemmMaxColumns + 1;
    constexpr int j = static_cast<int>(Index) % kGemmMaxColumns + 1;
    if constexpr (r <= gemm_rows_for(j)) {
      return &gemm_block<r, j>;
    } else {
      return &gemm_block<1, 1>;
    }
  };
  return std::array<GemmFn, sizeof...(I)>{entry.template operator()<I>()...};
}

inline GemmFn gemm_kernel(int rows, int columns) {
  static constexpr auto table =
      gemm_table(std::make_index_sequence<kGemmMaxRows * kGemmMaxColumns>());
  return table[(rows - 1) * kGemmMaxColumns + (columns - 1)];
}

// Floats of B one panel holds: 24 KiB, half a 48 KiB L1 (32 KiB L1s keep most of it too).
inline constexpr std::size_t kGemmPanelFloats = 8192;

// The whole product, cut into blocks: columns in blocks of J registers, J chosen for the most
// accumulators in use (R * J times the share of the lanes that hold columns of C; ties to the
// narrower J, whose taller blocks take fewer loads and broadcasts per FMA), rows in near-equal
// blocks of at most R, and p in panels. B(p, j) = b[p * b_row + j * b_column]: b_column = 1 for
// B as stored, b_row = 1 for B stored transposed (W^T read from W).
// Each panel of B (its rows p0.. and the block's columns) is first packed into an aligned buffer
// on the stack, rows of J whole registers, zeros past C's last column: then it stays in L1 while
// every row block runs over it, and no load splits a cache line (rows of 480 bytes, for example,
// start every other one half-way into a line). Rows of whole registers, all starting at the same
// offset in their lines, are read in place: they split no line, and the copy would only add
// work. B stored transposed is always packed, in register tiles (the transpose of a panel of
// W^T's rows is a panel of W's columns): so E W^T needs no transposed copy of all of W, whose
// writing and reading again cost more than the product's own pass over W.
inline void small_gemm_strided(std::size_t m, std::size_t n, std::size_t k, const float* a,
                               std::size_t a_row, std::size_t a_depth, const float* b,
                               std::size_t b_row, std::size_t b_column, const float* init, float* c,
                               std::size_t ldc) {
  if (m == 0 || n == 0) return;
  const std::size_t vectors = (n + Simd::kLanes - 1) / Simd::kLanes;
  std::size_t per_block = 1;
  double best = 0.0;
  for (int j = 1; j <= kGemmMaxColumns && static_cast<std::size_t>(j) <= vectors; ++j) {
    const std::size_t blocks = (vectors + j - 1) / j;
    const double used = static_cast<double>(gemm_rows_for(j) * j) * static_cast<double>(vectors) /
                        static_cast<double>(blocks * j);
    if (used > best) {
      best = used;
      per_block = static_cast<std::size_t>(j);
    }
  }
  const auto most_rows = static_cast<std::size_t>(gemm_rows_for(static_cast<int>(per_block)));
  const std::size_t row_blocks = (m + most_rows - 1) / most_rows;
  const std::size_t panel = kGemmPanelFloats / (per_block * Simd::kLanes);
  alignas(64) float packed[kGemmPanelFloats];
  const bool transposed = b_column != 1;
  const bool in_place = !transposed && n % Simd::kLanes == 0 && b_row % Simd::kLanes == 0;
  for (std::size_t v0 = 0; v0 < vectors; v0 += per_block) {
    const std::size_t j0 = v0 * Simd::kLanes;
    const std::size_t columns = std::min(per_block, vectors - v0);
    const int tail = static_cast<int>(
        std::min<std::size_t>(Simd::kLanes, n - j0 - (columns - 1) * Simd::kLanes));
    const std::size_t width = in_place ? b_row : columns * Simd::kLanes;
    // No reduction at all (k = 0): C = init or zero, one pass.
    for (std::size_t p0 = 0; p0 < std::max<std::size_t>(k, 1); p0 += panel) {
      const std::size_t depth = std::min(panel, k - std::min(k, p0));
      const int start = p0 > 0 ? 2 : (init != nullptr ? 1 : 0);
      const float* panel_b = in_place ? b + p0 * b_row + j0 : packed;
      if (transposed) {
        // Columns j0.. of B are rows of its transpose: tiles of them turned into rows of B.
        const std::size_t used = n - j0;
        transpose(b + j0 * b_column + p0, std::min(used, width), depth, b_column, packed, width);
        if (used < width) {
          for (std::size_t p = 0; p < depth; ++p) {
            std::fill(packed + p * width + used, packed + (p + 1) * width, 0.0f);
          }
        }
      } else if (!in_place) {
        for (std::size_t p = 0; p < depth; ++p) {
          const float* from = b + (p0 + p) * b_row + j0;
          float* to = packed + p * width;
          for (std::size_t v = 0; v < columns; ++v) {
            const int lanes = v + 1 < columns ? Simd::kLanes : tail;
            Simd::store(to + v * Simd::kLanes, Simd::load_first(from + v * Simd::kLanes, lanes));
          }
        }
      }
      for (std::size_t block = 0; block < row_blocks; ++block) {
        const std::size_t r0 = m * block / row_blocks, r1 = m * (block + 1) / row_blocks;
        gemm_kernel(static_cast<int>(r1 - r0), static_cast<int>(columns))(
            a + r0 * a_row + p0 * a_depth, a_row, a_depth, depth, panel_b, width, tail, start,
            init == nullptr ? nullptr : init + j0, c + r0 * ldc + j0, ldc);
      }
    }
  }
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
