#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/gemm.hpp"

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

}  // namespace
}  // namespace cnnkit::kernels
