#include "kernels/gemm.hpp"

#include <cblas.h>

#include <mutex>

#include "runtime/blas_threads.hpp"

namespace cnnkit::kernels {

namespace {

// BLAS stays single-threaded: cnnkit's OpenMP loops are the only thread pool (threading.hpp).
void blas_single_threaded_once() {
  static std::once_flag once;
  std::call_once(once, runtime::keep_blas_single_threaded);
}

CBLAS_TRANSPOSE to_cblas(Transpose t) {
  return t == Transpose::kYes ? CblasTrans : CblasNoTrans;
}

int as_int(std::size_t value) {
  return static_cast<int>(value);
}

}  // namespace

template <>
void gemm<float>(Transpose ta, Transpose tb, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  blas_single_threaded_once();
  const auto lock = runtime::lock_for_blas_call();
  cblas_sgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), as_int(m), as_int(n), as_int(k), alpha, a,
              as_int(lda), b, as_int(ldb), beta, c, as_int(ldc));
}

template <>
void gemm<double>(Transpose ta, Transpose tb, std::size_t m, std::size_t n, std::size_t k,
                  double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
                  double beta, double* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  blas_single_threaded_once();
  const auto lock = runtime::lock_for_blas_call();
  cblas_dgemm(CblasRowMajor, to_cblas(ta), to_cblas(tb), as_int(m), as_int(n), as_int(k), alpha, a,
              as_int(lda), b, as_int(ldb), beta, c, as_int(ldc));
}

template <typename T>
void gemm(Transpose ta, Transpose tb, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, const T* b, T beta, T* c) {
  // Row strides of the matrices as stored: A is (m x k) or (k x m), B is (k x n) or (n x k).
  const std::size_t lda = ta == Transpose::kYes ? m : k;
  const std::size_t ldb = tb == Transpose::kYes ? k : n;
  gemm<T>(ta, tb, m, n, k, alpha, a, lda == 0 ? 1 : lda, b, ldb == 0 ? 1 : ldb, beta, c,
          n == 0 ? 1 : n);
}

template <typename T>
void gemm_reference(Transpose ta, Transpose tb, std::size_t m, std::size_t n, std::size_t k,
                    T alpha, const T* a, const T* b, T beta, T* c) {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      T sum = 0;
      for (std::size_t p = 0; p < k; ++p) {
        const T a_ip = ta == Transpose::kYes ? a[p * m + i] : a[i * k + p];
        const T b_pj = tb == Transpose::kYes ? b[j * k + p] : b[p * n + j];
        sum += a_ip * b_pj;
      }
      c[i * n + j] = alpha * sum + (beta == T(0) ? T(0) : beta * c[i * n + j]);
    }
  }
}

template void gemm<float>(Transpose, Transpose, std::size_t, std::size_t, std::size_t, float,
                          const float*, const float*, float, float*);
template void gemm<double>(Transpose, Transpose, std::size_t, std::size_t, std::size_t, double,
                           const double*, const double*, double, double*);
template void gemm_reference<float>(Transpose, Transpose, std::size_t, std::size_t, std::size_t,
                                    float, const float*, const float*, float, float*);
template void gemm_reference<double>(Transpose, Transpose, std::size_t, std::size_t, std::size_t,
                                     double, const double*, const double*, double, double*);

}  // namespace cnnkit::kernels
