// Float matrix products in cnnkit's own SIMD register blocks (small_gemm_blocks.hpp), chosen at
// run time like the convolution kernels (AVX-512 or AVX2 + FMA), for the fully connected layer:
// its speed then does not depend on which OpenBLAS build or core type a machine picks (some
// environments force OpenBLAS's older kernels with OPENBLAS_CORETYPE).
#pragma once

#include <cstddef>

namespace cnnkit::kernels {

// C (m x n) = init + A B, row-major: A(r, p) = a[r * a_row + p * a_depth] for r < m, p < k
// (a_row = lda, a_depth = 1 for A as stored; a_row = 1, a_depth = lda for A transposed), B's row
// p at b + p * ldb (n floats), C's row r at c + r * ldc; `init` is a row of n floats every row of
// C starts from (a bias), or null for zero. Each element is one chain of fused multiply-adds in
// the order p = 0, 1, ..., k - 1, so small_gemm_reference gives the same bits, and a row's result
// does not depend on how the rows are cut among threads. C must not overlap A, B or init.
// Returns false, touching nothing, when the CPU has neither AVX-512 nor AVX2 + FMA.
bool small_gemm(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t a_row,
                std::size_t a_depth, const float* b, std::size_t ldb, const float* init, float* c,
                std::size_t ldc);

// The same product with B given as its transpose: B(p, j) = bt[j * ldbt + p], so E W^T reads W
// as stored. Each panel of B is transposed on the way into the blocks' packed buffer, so no
// transposed copy of the whole matrix is made. The same bits as small_gemm on B written out.
bool small_gemm_transposed_b(std::size_t m, std::size_t n, std::size_t k, const float* a,
                             std::size_t a_row, std::size_t a_depth, const float* bt,
                             std::size_t ldbt, const float* init, float* c, std::size_t ldc);

// The same contract as a plain loop with std::fma (always available).
void small_gemm_reference(std::size_t m, std::size_t n, std::size_t k, const float* a,
                          std::size_t a_row, std::size_t a_depth, const float* b, std::size_t ldb,
                          const float* init, float* c, std::size_t ldc);

// dst[j * dst_ld + i] = src[i * src_ld + j] for i < rows, j < cols, in SIMD register tiles; a
// plain loop without AVX2.
void transpose_matrix(const float* src, std::size_t rows, std::size_t cols, std::size_t src_ld,
                      float* dst, std::size_t dst_ld);

namespace detail {
// Per-ISA entry points (simd_kernels_avx512.cpp, simd_kernels_avx2.cpp): B(p, j) = b[p * b_row +
// j * b_column], which covers both small_gemm (b_column = 1) and small_gemm_transposed_b (b_row =
// 1).
void small_gemm_avx512(std::size_t m, std::size_t n, std::size_t k, const float* a,
                       std::size_t a_row, std::size_t a_depth, const float* b, std::size_t b_row,
                       std::size_t b_column, const float* init, float* c, std::size_t ldc);
void small_gemm_avx2(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t a_row,
                     std::size_t a_depth, const float* b, std::size_t b_row, std::size_t b_column,
                     const float* init, float* c, std::size_t ldc);
void transpose_avx512(const float* src, std::size_t rows, std::size_t cols, std::size_t src_ld,
                      float* dst, std::size_t dst_ld);
void transpose_avx2(const float* src, std::size_t rows, std::size_t cols, std::size_t src_ld,
                    float* dst, std::size_t dst_ld);
}  // namespace detail

}  // namespace cnnkit::kernels
