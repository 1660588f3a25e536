// small_gemm (kernels/small_gemm.hpp): hand-checked products, and the SIMD blocks of every level
// the CPU runs held to the plain fma loop bit for bit on random shapes, both forms of A, B as
// stored and transposed (small_gemm_transposed_b), with and without a bias row, and with leading
// dimensions wider than the rows (whose extra columns must stay untouched).
#include "kernels/small_gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::best_simd_level;
using runtime::SimdLevel;

// B(p, j) = b[p * b_row + j * b_column]: the per-ISA entry points of small_gemm (b_column = 1) and
// small_gemm_transposed_b (b_row = 1).
using StridedEntry = void (*)(std::size_t, std::size_t, std::size_t, const float*, std::size_t,
                              std::size_t, const float*, std::size_t, std::size_t, const float*,
                              float*, std::size_t);

struct Level {
  const char* name;
  StridedEntry entry;
  // small_gemm's contract: B's row p at b + p * ldb.
  void gemm(std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t a_row,
            std::size_t a_depth, const float* b, std::size_t ldb, const float* init, float* c,
            std::size_t ldc) const {
    entry(m, n, k, a, a_row, a_depth, b, ldb, 1, init, c, ldc);
  }
  // small_gemm_transposed_b's: B(p, j) = bt[j * ldbt + p].
  void gemm_transposed_b(std::size_t m, std::size_t n, std::size_t k, const float* a,
                         std::size_t a_row, std::size_t a_depth, const float* bt, std::size_t ldbt,
                         const float* init, float* c, std::size_t ldc) const {
    entry(m, n, k, a, a_row, a_depth, bt, 1, ldbt, init, c, ldc);
  }
};

// The per-ISA blocks this CPU runs, each called directly (small_gemm itself takes the widest).
std::vector<Level> levels() {
  std::vector<Level> result;
  if (best_simd_level() >= SimdLevel::kAvx2) result.push_back({"avx2", &detail::small_gemm_avx2});
  if (best_simd_level() >= SimdLevel::kAvx512) {
    result.push_back({"avx512", &detail::small_gemm_avx512});
  }
  return result;
}

TEST(SmallGemm, HandCheckedProductsWithBias) {
  // [1 2; 3 4] [5 6; 7 8] + [10 20] = [29 42; 53 70].
  const std::vector<float> a{1, 2, 3, 4}, b{5, 6, 7, 8}, bias{10, 20};
  std::vector<float> c(4, -1.0f);
  small_gemm_reference(2, 2, 2, a.data(), 2, 1, b.data(), 2, bias.data(), c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{29, 42, 53, 70}));
  // A read transposed (a_row 1, a_depth 2): [1 3; 2 4] [5 6; 7 8] = [26 30; 38 44].
  small_gemm_reference(2, 2, 2, a.data(), 1, 2, b.data(), 2, nullptr, c.data(), 2);
  EXPECT_EQ(c, (std::vector<float>{26, 30, 38, 44}));
  for (const Level& level : levels()) {
    std::vector<float> fast(4, -1.0f);
    level.gemm(2, 2, 2, a.data(), 2, 1, b.data(), 2, bias.data(), fast.data(), 2);
    EXPECT_EQ(fast, (std::vector<float>{29, 42, 53, 70})) << level.name;
    level.gemm(2, 2, 2, a.data(), 1, 2, b.data(), 2, nullptr, fast.data(), 2);
    EXPECT_EQ(fast, (std::vector<float>{26, 30, 38, 44})) << level.name;
    // The same B given as its transpose [5 7; 6 8].
    const std::vector<float> bt{5, 7, 6, 8};
    level.gemm_transposed_b(2, 2, 2, a.data(), 2, 1, bt.data(), 2, bias.data(), fast.data(), 2);
    EXPECT_EQ(fast, (std::vector<float>{29, 42, 53, 70})) << level.name;
  }
}

// The tests that only loop over levels(): skipped, not passed, on a CPU without any of them.
class SmallGemmAtEachLevel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (levels().empty()) GTEST_SKIP() << "no SIMD level of the GEMM blocks (AVX2) on this CPU";
  }
};

TEST_F(SmallGemmAtEachLevel, NoReductionGivesTheBiasOrZero) {
  const std::vector<float> bias{1.5f, -2.0f, 3.0f};
  for (const Level& level : levels()) {
    std::vector<float> c(6, 7.0f);
    level.gemm(2, 3, 0, nullptr, 0, 1, nullptr, 3, bias.data(), c.data(), 3);
    EXPECT_EQ(c, (std::vector<float>{1.5f, -2.0f, 3.0f, 1.5f, -2.0f, 3.0f})) << level.name;
    level.gemm(2, 3, 0, nullptr, 0, 1, nullptr, 3, nullptr, c.data(), 3);
    EXPECT_EQ(c, std::vector<float>(6, 0.0f)) << level.name;
  }
}

bool same_bits(float x, float y) {
  return std::memcmp(&x, &y, sizeof x) == 0;
}

TEST_F(SmallGemmAtEachLevel, BlocksGiveTheBitsOfThePlainLoop) {
  std::mt19937 engine(11);
  auto pick = [&engine](std::size_t lo, std::size_t hi) {
    return std::uniform_int_distribution<std::size_t>(lo, hi)(engine);
  };
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  struct Shape {
    std::size_t m, n, k;
  };
  // W1's layers (forward, input error, weight gradient of 784 -> 120 -> 84 -> 10 at batch 64),
  // W5's input error (1536 -> 128), then random shapes: odd rows and columns, k past one panel
  // of the reduction (5 x 70 x 1100: past several at both levels).
  std::vector<Shape> shapes{{64, 120, 784},  {64, 784, 120}, {784, 120, 64}, {64, 84, 120},
                            {64, 10, 84},    {84, 10, 64},   {1, 1, 1},      {3, 17, 400},
                            {64, 1536, 128}, {5, 70, 1100}};
  for (int i = 0; i < 40; ++i) shapes.push_back({pick(1, 40), pick(1, 300), pick(1, 200)});
  for (const Level& level : levels()) {
    for (const Shape& s : shapes) {
      for (const bool transposed : {false, true}) {
        const bool with_bias = pick(0, 1) == 1;
        const std::size_t lda = (transposed ? s.m : s.k) + pick(0, 3);
        const std::size_t ldb = s.n + pick(0, 20), ldc = s.n + pick(0, 5);
        // B also stored transposed, (n x k) with rows ldbt apart, for small_gemm_transposed_b.
        const std::size_t ldbt = s.k + pick(0, 5);
        std::vector<float> a((transposed ? s.k : s.m) * lda), b(s.k * ldb), bias(s.n);
        for (float& v : a) v = uniform(engine);
        for (float& v : b) v = uniform(engine);
        for (float& v : bias) v = uniform(engine);
        std::vector<float> bt(s.n * ldbt, 9.0f);
        for (std::size_t p = 0; p < s.k; ++p) {
          for (std::size_t j = 0; j < s.n; ++j) bt[j * ldbt + p] = b[p * ldb + j];
        }
        const std::size_t a_row = transposed ? 1 : lda, a_depth = transposed ? lda : 1;
        std::vector<float> fast(s.m * ldc, 42.0f), fast_bt(s.m * ldc, 42.0f),
            plain(s.m * ldc, 42.0f);
        const float* init = with_bias ? bias.data() : nullptr;
        level.gemm(s.m, s.n, s.k, a.data(), a_row, a_depth, b.data(), ldb, init, fast.data(), ldc);
        level.gemm_transposed_b(s.m, s.n, s.k, a.data(), a_row, a_depth, bt.data(), ldbt, init,
                                fast_bt.data(), ldc);
        small_gemm_reference(s.m, s.n, s.k, a.data(), a_row, a_depth, b.data(), ldb, init,
                             plain.data(), ldc);
        const std::string what = std::string(level.name) + " m " + std::to_string(s.m) + " n " +
                                 std::to_string(s.n) + " k " + std::to_string(s.k) +
                                 (transposed ? " A^T" : " A") + (with_bias ? " bias" : "");
        for (const auto& [result, form] : {std::pair{&fast, " B"}, std::pair{&fast_bt, " B^T"}}) {
          std::size_t failures = 0;
          for (std::size_t e = 0; e < result->size() && failures < 3; ++e) {
            if (!same_bits((*result)[e], plain[e])) {
              ADD_FAILURE() << what << form << ": element " << e << " is " << (*result)[e]
                            << ", the plain loop " << plain[e];
              ++failures;
            }
          }
        }
      }
    }
  }
}

TEST(SmallGemm, TransposeMatrixMovesEveryElementAndNothingElse) {
  const std::size_t rows = 37, cols = 21, src_ld = 23, dst_ld = 40;
  std::vector<float> src(rows * src_ld);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i);
  std::vector<float> dst(cols * dst_ld, -1.0f);
  transpose_matrix(src.data(), rows, cols, src_ld, dst.data(), dst_ld);
  for (std::size_t j = 0; j < cols; ++j) {
    for (std::size_t i = 0; i < dst_ld; ++i) {
      const float expected = i < rows ? src[i * src_ld + j] : -1.0f;
      ASSERT_EQ(dst[j * dst_ld + i], expected) << "row " << j << " column " << i;
    }
  }
}

}  // namespace
}  // namespace cnnkit::kernels
