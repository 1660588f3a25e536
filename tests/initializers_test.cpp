// Initializers: exact values for Constant, Kolmogorov-Smirnov tests of the random ones against the
// exact uniform and normal distributions (including one that must reject a wrong sigma), and
// seed repeatability.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "cnnkit/initializers.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {
namespace {

// Kolmogorov-Smirnov statistic D = sup |F_n(x) - F(x)| of the samples against the CDF F.
template <typename T>
double ks_statistic(const Tensor<T>& samples, const std::function<double(double)>& cdf) {
  std::vector<double> sorted(samples.begin(), samples.end());
  std::sort(sorted.begin(), sorted.end());
  const auto n = static_cast<double>(sorted.size());
  double d = 0;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const double f = cdf(sorted[i]);
    // The empirical CDF jumps from i/n to (i+1)/n at sorted[i].
    d = std::max({d, (static_cast<double>(i) + 1) / n - f, f - static_cast<double>(i) / n});
  }
  return d;
}

// Critical value of D at alpha = 0.001 for large n: sqrt(-ln(alpha/2)/2)/sqrt(n) = 1.95/sqrt(n).
double ks_critical_value(std::size_t n) {
  return 1.95 / std::sqrt(static_cast<double>(n));
}

std::function<double(double)> normal_cdf(double sigma) {
  return [sigma](double x) { return 0.5 * std::erfc(-x / (sigma * std::sqrt(2.0))); };
}

double uniform_cdf(double x) {
  return std::clamp(x, 0.0, 1.0);
}

// 160000 draws: D then separates a sigma 5% off (D ~ 0.24 * 0.05) from the critical 0.0049.
const Shape kShape{400, 400};

TEST(InitializersConstant, FillsWithItsValue) {
  Constant<double> constant(0.25);
  const Tensor<double> weights = constant.initialize({3, 4}, 3, 4);
  EXPECT_EQ(weights, Tensor<double>({3, 4}, 0.25));
  EXPECT_EQ(Constant<float>().value(), 0.1f);  // the lecture's default for biases
  Constant<float> by_default;
  for (const float w : by_default.initialize({5}, 0, 0)) EXPECT_EQ(w, 0.1f);
  const auto copy = constant.clone();
  EXPECT_EQ(copy->initialize({2}, 1, 1), Tensor<double>({2}, 0.25));
}

TEST(InitializersUniform, KolmogorovSmirnovAgainstUniform01) {
  set_seed(11);
  UniformRandom<double> uniform;
  const Tensor<double> weights = uniform.initialize(kShape, 10, 10);
  EXPECT_EQ(weights.shape(), kShape);
  for (const double w : weights) {
    ASSERT_GE(w, 0.0);
    ASSERT_LT(w, 1.0);
  }
  EXPECT_LT(ks_statistic(weights, uniform_cdf), ks_critical_value(weights.size()));
  // The same draws are far from U[0, 0.9): the statistic can fail.
  EXPECT_GT(ks_statistic(weights, [](double x) { return std::clamp(x / 0.9, 0.0, 1.0); }),
            ks_critical_value(weights.size()));
}

TEST(InitializersUniform, FloatInRange) {
  set_seed(12);
  UniformRandom<float> uniform;
  const Tensor<float> weights = uniform.initialize(kShape, 1, 1);
  for (const float w : weights) {
    ASSERT_GE(w, 0.0f);
    ASSERT_LT(w, 1.0f);
  }
  EXPECT_LT(ks_statistic(weights, uniform_cdf), ks_critical_value(weights.size()));
}

TEST(InitializersXavier, KolmogorovSmirnovAgainstNormal) {
  set_seed(21);
  Xavier<double> xavier;
  // sigma = sqrt(2 / (fan_out + fan_in)) = sqrt(2 / 400).
  const Tensor<double> weights = xavier.initialize(kShape, 300, 100);
  const double sigma = std::sqrt(2.0 / 400.0);
  EXPECT_LT(ks_statistic(weights, normal_cdf(sigma)), ks_critical_value(weights.size()));
  // A sigma 5% too large is rejected: the test can fail.
  EXPECT_GT(ks_statistic(weights, normal_cdf(1.05 * sigma)), ks_critical_value(weights.size()));
}

TEST(InitializersXavier, FloatKolmogorovSmirnov) {
  set_seed(22);
  Xavier<float> xavier;
  const Tensor<float> weights = xavier.initialize(kShape, 8, 0);
  EXPECT_LT(ks_statistic(weights, normal_cdf(0.5)), ks_critical_value(weights.size()));
}

TEST(InitializersXavier, RejectsZeroFans) {
  Xavier<float> xavier;
  EXPECT_THROW(xavier.initialize({2, 2}, 0, 0), std::invalid_argument);
  EXPECT_NO_THROW(xavier.initialize({2, 2}, 0, 4));
  try {
    xavier.initialize({2, 2}, 0, 0);
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what())
                  .find("Xavier: expected fan_in + fan_out > 0, got fan_in = 0, fan_out = 0"),
              std::string::npos)
        << error.what();
  }
}

TEST(InitializersHe, KolmogorovSmirnovAgainstNormal) {
  set_seed(31);
  He<double> he;
  // sigma = sqrt(2 / fan_in) = 0.2; fan_out plays no part.
  const Tensor<double> weights = he.initialize(kShape, 50, 7);
  EXPECT_LT(ks_statistic(weights, normal_cdf(0.2)), ks_critical_value(weights.size()));
  // Xavier's sigma for the same fans, sqrt(2/57) = 0.187, is rejected.
  EXPECT_GT(ks_statistic(weights, normal_cdf(std::sqrt(2.0 / 57.0))),
            ks_critical_value(weights.size()));
}

TEST(InitializersHe, FloatKolmogorovSmirnovAndZeroFanIn) {
  set_seed(32);
  He<float> he;
  const Tensor<float> weights = he.initialize(kShape, 9 * 4, 1);
  EXPECT_LT(ks_statistic(weights, normal_cdf(std::sqrt(2.0 / 36.0))),
            ks_critical_value(weights.size()));
  EXPECT_THROW(he.initialize({2}, 0, 5), std::invalid_argument);
  try {
    he.initialize({2}, 0, 5);
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("He: expected fan_in > 0, got fan_in = 0"),
              std::string::npos)
        << error.what();
  }
}

TEST(InitializersSeed, SameSeedSameWeights) {
  He<float> he;
  UniformRandom<double> uniform;
  set_seed(1234);
  const Tensor<float> a = he.initialize({16, 9}, 9, 16);
  const Tensor<double> ua = uniform.initialize({20}, 1, 1);
  set_seed(1234);
  const Tensor<float> b = he.initialize({16, 9}, 9, 16);
  const Tensor<double> ub = uniform.initialize({20}, 1, 1);
  EXPECT_EQ(a, b);
  EXPECT_EQ(ua, ub);
  set_seed(1235);
  EXPECT_NE(he.initialize({16, 9}, 9, 16), a);
  // Consecutive draws without a re-seed differ too.
  EXPECT_NE(he.initialize({16, 9}, 9, 16), a);
}

TEST(InitializersClone, ClonesDrawFromTheSameEngine) {
  const Xavier<double> xavier;
  const auto copy = xavier.clone();
  set_seed(5);
  const Tensor<double> from_copy = copy->initialize({10}, 3, 3);
  set_seed(5);
  Xavier<double> original;
  EXPECT_EQ(original.initialize({10}, 3, 3), from_copy);
}

}  // namespace
}  // namespace cnnkit
