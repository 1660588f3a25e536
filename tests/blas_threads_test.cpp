// cnnkit with each build of OpenBLAS that Debian ships (runtime/blas_threads.hpp): CTest runs
// this binary once per build installed, with CNNKIT_EXPECTED_BLAS naming the one it loaded.
#include "runtime/blas_threads.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "cnnkit/threading.hpp"
#include "kernels/gemm.hpp"
#include "thread_count_guard.hpp"

namespace {

using cnnkit::kernels::Transpose;

TEST(BlasThreads, ReportsTheLoadedBuild) {
  const char* expected = std::getenv("CNNKIT_EXPECTED_BLAS");
  if (expected == nullptr) GTEST_SKIP() << "CNNKIT_EXPECTED_BLAS not set (run by CTest per build)";
  EXPECT_STREQ(cnnkit::runtime::to_string(cnnkit::runtime::blas_threading()), expected);
}

// CTest runs this once more with OPENBLAS_CORETYPE=Prescott (the generic kernels) and
// CNNKIT_EXPECTED_BLAS_HINT=1; on its own the hint depends on what OpenBLAS makes of the CPU.
TEST(BlasThreads, HintsAtTheCoreTypeWhenOpenblasRunsGenericKernels) {
  if (std::getenv("CNNKIT_EXPECTED_BLAS_HINT") == nullptr) {
    GTEST_SKIP() << "CNNKIT_EXPECTED_BLAS_HINT not set (run by CTest with OPENBLAS_CORETYPE)";
  }
  const std::string hint = cnnkit::blas_speed_hint();
  EXPECT_NE(hint.find("\"Prescott\""), std::string::npos) << hint;
  EXPECT_NE(hint.find(__builtin_cpu_supports("avx512f") ? "OPENBLAS_CORETYPE=SkylakeX"
                                                        : "OPENBLAS_CORETYPE=Haswell"),
            std::string::npos)
      << hint;
}

int threads_of_a_parallel_region() {
  int threads = 0;
#pragma omp parallel
  {
#pragma omp single
    threads = omp_get_num_threads();
  }
  return threads;
}

// OpenMP OpenBLAS's own setter sets OpenMP's thread count too: cnnkit ran every loop on one
// thread once it had kept BLAS to one.
TEST(BlasThreads, KeepingBlasToOneThreadLeavesCnnkitsCount) {
  const cnnkit::testing::ThreadCountGuard guard;
  cnnkit::set_num_threads(3);
  EXPECT_EQ(cnnkit::num_threads(), 3u);
  EXPECT_EQ(threads_of_a_parallel_region(), 3);
  cnnkit::runtime::keep_blas_single_threaded();
  EXPECT_EQ(cnnkit::num_threads(), 3u);
  EXPECT_EQ(threads_of_a_parallel_region(), 3);
}

// cnnkit calls BLAS from several threads at once (FullyConnected's row blocks, the im2col path):
// every product must be what the plain loop gives, whichever build is loaded (sequential
// OpenBLAS gave wrong products here before its calls were serialised).
template <typename T>
std::size_t wrong_concurrent_products(Transpose ta, Transpose tb) {
  constexpr std::size_t m = 24, n = 20, k = 40, products = 2000;
  std::mt19937 engine(7);
  std::uniform_real_distribution<T> uniform(T(-1), T(1));
  std::vector<std::vector<T>> a(products), b(products);
  for (std::size_t p = 0; p < products; ++p) {
    a[p].resize(m * k);
    b[p].resize(k * n);
    for (T& v : a[p]) v = uniform(engine);
    for (T& v : b[p]) v = uniform(engine);
  }
  std::vector<std::vector<T>> c(products, std::vector<T>(m * n));
#pragma omp parallel for schedule(dynamic, 1)
  for (std::size_t p = 0; p < products; ++p) {
    cnnkit::kernels::gemm<T>(ta, tb, m, n, k, T(1), a[p].data(), b[p].data(), T(0), c[p].data());
  }
  std::size_t wrong = 0;
  std::vector<T> expected(m * n);
  for (std::size_t p = 0; p < products; ++p) {
    cnnkit::kernels::gemm_reference<T>(ta, tb, m, n, k, T(1), a[p].data(), b[p].data(), T(0),
                                       expected.data());
    for (std::size_t i = 0; i < m * n; ++i) {
      wrong += std::abs(c[p][i] - expected[i]) > T(1e-3) * (T(1) + std::abs(expected[i])) ? 1 : 0;
    }
  }
  return wrong;
}

TEST(BlasThreads, ConcurrentProductsMatchTheReference) {
  const cnnkit::testing::ThreadCountGuard guard;
  cnnkit::set_num_threads(4);
  for (const Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (const Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      SCOPED_TRACE(::testing::Message() << "transpose a " << (ta == Transpose::kYes) << ", b "
                                        << (tb == Transpose::kYes));
      EXPECT_EQ(wrong_concurrent_products<float>(ta, tb), 0u) << "float";
      EXPECT_EQ(wrong_concurrent_products<double>(ta, tb), 0u) << "double";
    }
  }
}

}  // namespace
