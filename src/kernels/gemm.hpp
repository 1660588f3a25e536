// Matrix products through CBLAS (OpenBLAS), row-major: C = alpha * op(A) op(B) + beta * C,
// with op(A) (m x k), op(B) (k x n), C (m x n). Plain leading dimensions: A is stored as
// (m x k) or, transposed, (k x m); likewise B. BLAS runs single-threaded
// (runtime/blas_threads.hpp): cnnkit parallelises around these calls. Allocation: OpenBLAS 0.3.21's
// small-matrix sgemm kernel for SkylakeX and later CPUs calls malloc on every call in the
// no-transpose form (transpose_a = transpose_b = kNo) for about a third of all shapes; the three
// forms with a transpose never did in 1890 shapes tried. Code on the allocation-free training path
// (FullyConnected) therefore avoids the plain form.
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
