// Forcing the kernels' SIMD level (cnnkit/simd_level.hpp, CNNKIT_SIMD): forced avx2 runs the
// AVX2 convolution kernels, whose results are the AVX2 kernels' own bits and agree with the
// reference; forced none runs the im2col + BLAS path, bit for bit; a name that is not a level, or
// a level the CPU lacks, is refused and changes nothing.
#include "cnnkit/simd_level.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d.hpp"
#include "kernels/conv2d_fast.hpp"
#include "runtime/simd_level.hpp"
#include "simd_level_guard.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::SimdLevel;

using testing::SimdLevelGuard;

std::vector<float> normal_values(std::size_t n, unsigned seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(n);
  for (float& v : values) v = normal(engine);
  return values;
}

// One convolution's forward output, input error, weight and bias gradient.
struct Results {
  std::vector<float> output, input_error, weight_gradient, bias_gradient;
};

// {N, C, Y, X, K, m, n, sy, sx}: 3x3 "same", stride 2 along x, 16 kernels.
constexpr ConvGeometry kGeometry{3, 5, 11, 13, 16, 3, 3, 1, 2};

struct Data {
  std::vector<float> input = normal_values(kGeometry.input_size(), 1);
  std::vector<float> weights = normal_values(
      kGeometry.kernels * kGeometry.channels * kGeometry.kernel_y * kGeometry.kernel_x, 2);
  std::vector<float> bias = normal_values(kGeometry.kernels, 3);
  std::vector<float> error = normal_values(kGeometry.output_size(), 4);
};

enum class Path { kDispatch, kFastAvx2, kGemm };

Results run(const Data& d, Path path) {
  const ConvGeometry& g = kGeometry;
  Results r{std::vector<float>(g.output_size()), std::vector<float>(g.input_size()),
            std::vector<float>(d.weights.size()), std::vector<float>(g.kernels)};
  std::vector<float> workspace;
  switch (path) {
    case Path::kDispatch:
      conv2d_forward(g, d.input.data(), d.weights.data(), d.bias.data(), r.output.data(),
                     workspace);
      conv2d_backward(g, d.input.data(), d.weights.data(), d.error.data(), r.input_error.data(),
                      r.weight_gradient.data(), r.bias_gradient.data(), workspace);
      break;
    case Path::kFastAvx2:
      EXPECT_TRUE(conv2d_forward_fast(g, d.input.data(), d.weights.data(), d.bias.data(),
                                      r.output.data(), workspace, SimdLevel::kAvx2));
      EXPECT_TRUE(conv2d_backward_fast(g, d.input.data(), d.weights.data(), d.error.data(),
                                       r.input_error.data(), r.weight_gradient.data(),
                                       r.bias_gradient.data(), workspace, SimdLevel::kAvx2));
      break;
    case Path::kGemm:
      conv2d_forward_gemm(g, d.input.data(), d.weights.data(), d.bias.data(), r.output.data(),
                          workspace);
      conv2d_backward_gemm(g, d.input.data(), d.weights.data(), d.error.data(),
                           r.input_error.data(), r.weight_gradient.data(), r.bias_gradient.data(),
                           workspace);
      break;
  }
  return r;
}

void expect_same_bits(const Results& a, const Results& b) {
  EXPECT_EQ(a.output, b.output);
  EXPECT_EQ(a.input_error, b.input_error);
  EXPECT_EQ(a.weight_gradient, b.weight_gradient);
  EXPECT_EQ(a.bias_gradient, b.bias_gradient);
}

// |a - b| within float rounding of sums of some tens of terms of size about 1.
void expect_near(const std::vector<float>& a, const std::vector<double>& b, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], 1e-4 * (1.0 + std::abs(b[i]))) << what << " " << i;
  }
}

TEST(SimdLevel, ForcedAvx2RunsTheAvx2KernelsWhichAgreeWithTheReference) {
  if (runtime::cpu_simd_level() < SimdLevel::kAvx2) GTEST_SKIP() << "no AVX2 on this CPU";
  const SimdLevelGuard guard;
  set_simd_level("avx2");
  EXPECT_EQ(simd_level(), "avx2");
  EXPECT_EQ(runtime::best_simd_level(), SimdLevel::kAvx2);
  const Data d;
  const Results forced = run(d, Path::kDispatch);
  expect_same_bits(forced, run(d, Path::kFastAvx2));

  // The reference in double.
  const ConvGeometry& g = kGeometry;
  const auto wide = [](const std::vector<float>& v) {
    return std::vector<double>(v.begin(), v.end());
  };
  const std::vector<double> input = wide(d.input), weights = wide(d.weights), bias = wide(d.bias),
                            error = wide(d.error);
  std::vector<double> output(g.output_size()), input_error(g.input_size()),
      weight_gradient(weights.size()), bias_gradient(g.kernels);
  conv2d_forward_reference(g, input.data(), weights.data(), bias.data(), output.data());
  conv2d_backward_reference(g, input.data(), weights.data(), error.data(), input_error.data(),
                            weight_gradient.data(), bias_gradient.data());
  expect_near(forced.output, output, "output");
  expect_near(forced.input_error, input_error, "input error");
  expect_near(forced.weight_gradient, weight_gradient, "weight gradient");
  expect_near(forced.bias_gradient, bias_gradient, "bias gradient");
}

TEST(SimdLevel, ForcedNoneTakesTheIm2colPath) {
  const SimdLevelGuard guard;
  set_simd_level("none");
  EXPECT_EQ(simd_level(), "none");
  EXPECT_FALSE(conv2d_fast_covers(kGeometry));
  const Data d;
  expect_same_bits(run(d, Path::kDispatch), run(d, Path::kGemm));
}

TEST(SimdLevel, RefusesANameThatIsNotALevel) {
  const SimdLevelGuard guard;
  const std::string before = simd_level();
  try {
    set_simd_level("sse4");
    FAIL() << "set_simd_level accepted 'sse4'";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "set_simd_level: expected avx512, avx2 or none, got 'sse4'");
  }
  EXPECT_EQ(simd_level(), before);
}

TEST(SimdLevel, RefusesALevelTheCpuLacks) {
  const SimdLevel cpu = runtime::cpu_simd_level();
  if (cpu == SimdLevel::kAvx512) GTEST_SKIP() << "this CPU has every level";
  const SimdLevelGuard guard;
  const std::string before = simd_level();
  try {
    set_simd_level("avx512");
    FAIL() << "set_simd_level accepted avx512 on a CPU without it";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()), "set_simd_level: expected a SIMD level this CPU has (" +
                                             runtime::to_string(cpu) + " or narrower), got avx512");
  }
  EXPECT_EQ(simd_level(), before);
}

}  // namespace
}  // namespace cnnkit::kernels
