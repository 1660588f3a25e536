#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "cnnkit/threading.hpp"
#include "kernels/gemm.hpp"
#include "runtime/parallel.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::kernels {
namespace {

TEST(Gemm, HandCheckedTwoByTwo) {
  // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]
  const std::vector<double> a{1, 2, 3, 4}, b{5, 6, 7, 8};
  std::vector<double> c(4, 0.0);
  gemm<double>(Transpose::kNo, Transpose::kNo, 2, 2, 2, 1.0, a.data(), b.data(), 0.0, c.data());
  EXPECT_EQ(c, (std::vector<double>{19, 22, 43, 50}));
}

TEST(Gemm, MatchesReferenceForEveryTransposeAndOddSizes) {
  std::mt19937 engine(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const std::size_t m = 7, n = 5, k = 11;
  std::vector<float> a(m * k), b(k * n);
  for (float& v : a) v = uniform(engine);
  for (float& v : b) v = uniform(engine);
  for (const Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (const Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      std::vector<float> fast(m * n, 1.0f), reference(m * n, 1.0f);
      gemm<float>(ta, tb, m, n, k, 0.5f, a.data(), b.data(), 2.0f, fast.data());
      gemm_reference<float>(ta, tb, m, n, k, 0.5f, a.data(), b.data(), 2.0f, reference.data());
      for (std::size_t i = 0; i < fast.size(); ++i) EXPECT_NEAR(fast[i], reference[i], 1e-5f);
    }
  }
}

// The threads of cnnkit's pool call BLAS at once (the im2col path's samples): each call gets its
// own product, on every OpenBLAS build the suite runs (ctest runs it on the pthreads and the
// OpenMP builds; the OpenMP build shares its buffers among the pool's threads and must be called
// one at a time, runtime::lock_for_blas_call).
TEST(Gemm, CallsFromThePoolsThreadsAtOnceGiveEachItsOwnProduct) {
  const testing::ThreadCountGuard guard;
  set_num_threads(4);
  const std::size_t m = 96, n = 96, k = 96, calls = 16;
  std::mt19937 engine(11);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::vector<std::vector<double>> a(calls), b(calls), alone(calls);
  for (std::size_t i = 0; i < calls; ++i) {
    a[i].resize(m * k);
    b[i].resize(k * n);
    for (double& v : a[i]) v = uniform(engine);
    for (double& v : b[i]) v = uniform(engine);
    alone[i].assign(m * n, 0.0);
    gemm<double>(Transpose::kNo, Transpose::kYes, m, n, k, 1.0, a[i].data(), b[i].data(), 0.0,
                 alone[i].data());
  }
  for (int round = 0; round < 50; ++round) {
    std::vector<std::vector<double>> together(calls, std::vector<double>(m * n, 0.0));
    runtime::parallel_for_static(calls, true, [&](std::size_t i) {
      gemm<double>(Transpose::kNo, Transpose::kYes, m, n, k, 1.0, a[i].data(), b[i].data(), 0.0,
                   together[i].data());
    });
    for (std::size_t i = 0; i < calls; ++i) {
      ASSERT_EQ(together[i], alone[i]) << "round " << round << ", call " << i;
    }
  }
}

}  // namespace
}  // namespace cnnkit::kernels
