// Run-time dispatch of small_gemm and transpose_matrix, and their plain references. Compiled
// for the baseline x86-64 CPU, like conv2d_fast.cpp.
#include "kernels/small_gemm.hpp"

#include <cmath>
#include <cstddef>

#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

namespace {

// B(p, j) = b[p * b_row + j * b_column] on the widest level the CPU has (small_gemm.hpp).
bool strided_product(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t a_row,
                     std::size_t a_depth, const float* b, std::size_t b_row, std::size_t b_column,
                     const float* init, float* c, std::size_t ldc) {
  switch (runtime::best_simd_level()) {
    case runtime::SimdLevel::kAvx512:
      detail::small_gemm_avx512(m, n, k, a, a_row, a_depth, b, b_row, b_column, init, c, ldc);
      return true;
    case runtime::SimdLevel::kAvx2:
      detail::small_gemm_avx2(m, n, k, a, a_row, a_depth, b, b_row, b_column, init, c, ldc);
      return true;
    case runtime::SimdLevel::kNone:
      break;
  }
  return false;
}

}  // namespace

bool small_gemm(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t a_row,
                std::size_t a_depth, const float* b, std::size_t ldb, const float* init, float* c,
                std::size_t ldc) {
  return strided_product(m, n, k, a, a_row, a_depth, b, ldb, 1, init, c, ldc);
}

bool small_gemm_transposed_b(std::size_t m, std::size_t n, std::size_t k, const float* a,
                             std::size_t a_row, std::size_t a_depth, const float* bt,
                             std::size_t ldbt, const float* init, float* c, std::size_t ldc) {
  return strided_product(m, n, k, a, a_row, a_depth, bt, 1, ldbt, init, c, ldc);
}

void small_gemm_reference(std::size_t m, std::size_t n, std::size_t k, const float* a,
                          std::size_t a_row, std::size_t a_depth, const float* b, std::size_t ldb,
                          const float* init, float* c, std::size_t ldc) {
  for (std::size_t r = 0; r < m; ++r) {
    for (std::size_t j = 0; j < n; ++j) {
      float sum = init != nullptr ? init[j] : 0.0f;
      for (std::size_t p = 0; p < k; ++p)
        sum = std::fma(a[r * a_row + p * a_depth], b[p * ldb + j], sum);
      c[r * ldc + j] = sum;
    }
  }
}

void transpose_matrix(const float* src, std::size_t rows, std::size_t cols, std::size_t src_ld,
                      float* dst, std::size_t dst_ld) {
  switch (runtime::best_simd_level()) {
    case runtime::SimdLevel::kAvx512:
      return detail::transpose_avx512(src, rows, cols, src_ld, dst, dst_ld);
    case runtime::SimdLevel::kAvx2:
      return detail::transpose_avx2(src, rows, cols, src_ld, dst, dst_ld);
    case runtime::SimdLevel::kNone:
      break;
  }
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < cols; ++j) dst[j * dst_ld + i] = src[i * src_ld + j];
  }
}

}  // namespace cnnkit::kernels
