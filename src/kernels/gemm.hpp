// Matrix products through CBLAS (OpenBLAS), row-major: C = alpha * op(A) op(B) + beta * C,
// with op(A) (m x k), op(B) (k x n), C (m x n). Plain leading dimensions: A is stored as
// (m x k) or, transposed, (k x m); likewise B. BLAS runs single-threaded (see threading.cpp):
// cnnkit parallelises around these calls.
#pragma once

#include <cstddef>

namespace cnnkit::kernels {

enum class Transpose { kNo, kYes };

template <typename T>
void gemm(Transpose transpose_a, Transpose transpose_b, std::size_t m, std::size_t n, std::size_t k,
          T alpha, const T* a, const T* b, T beta, T* c);

// The same product with explicit leading dimensions (row strides) for sub-matrices.
template <typename T>
void gemm(Transpose transpose_a, Transpose transpose_b, std::size_t m, std::size_t n, std::size_t k,
          T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c,
          std::size_t ldc);

// Plain triple loop with the same contract: the reference the tests hold BLAS to.
template <typename T>
void gemm_reference(Transpose transpose_a, Transpose transpose_b, std::size_t m, std::size_t n,
                    std::size_t k, T alpha, const T* a, const T* b, T beta, T* c);

}  // namespace cnnkit::kernels
