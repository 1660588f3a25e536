// The fully connected kernels (kernels/fully_connected.hpp) against their plain-loop references:
// a hand-checked case, then random shapes (the network sizes, widths that are no multiple of a
// register, single rows and columns, products large enough to be cut among threads) on 1, 2 and
// 3 threads. Float on a CPU with AVX2 or AVX-512 must give the reference's bits (every element
// one chain of FMAs in reduction order); BLAS (double, other CPUs) agrees up to rounding.
#include "kernels/fully_connected.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "cnnkit/simd_level.hpp"
#include "cnnkit/threading.hpp"
#include "kernel_test_data.hpp"
#include "runtime/simd_level.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::kernels {
namespace {

using testing::random_values;
using testing::ThreadCountGuard;
template <typename T>
using Results = testing::KernelResults<T>;

// Results start as NaN: the kernels must overwrite every element, never accumulate into it.
template <typename T>
Results<T> nan_results(const FullyConnectedShape& s) {
  return testing::nan_results<T>(s.batch * s.outputs, s.batch * s.inputs, s.inputs * s.outputs,
                                 s.outputs);
}

TEST(FullyConnectedKernels, HandCheckedBatchOfTwo) {
  // x (2 x 3), W (3 x 2), b, E (2 x 2): y = x W + b, E W^T, x^T E and the column sums of E.
  const FullyConnectedShape s{2, 3, 2};
  const std::vector<double> x{1, 2, 3, 4, 5, 6}, w{1, 2, 3, 4, 5, 6}, b{10, 20}, e{1, -1, 2, 0};
  const Results<double> expected{
      {32, 48, 59, 84}, {-1, -1, -1, 2, 6, 10}, {9, -1, 12, -2, 15, -3}, {3, -1}};
  Results<double> reference = nan_results<double>(s);
  fully_connected_forward_reference(s, x.data(), w.data(), b.data(), reference.output.data());
  fully_connected_backward_reference(s, x.data(), w.data(), e.data(), reference.input_error.data(),
                                     reference.weight_gradient.data(),
                                     reference.bias_gradient.data());
  EXPECT_EQ(reference.output, expected.output);
  EXPECT_EQ(reference.input_error, expected.input_error);
  EXPECT_EQ(reference.weight_gradient, expected.weight_gradient);
  EXPECT_EQ(reference.bias_gradient, expected.bias_gradient);

  // Small integers: exact in any order, so the fast kernels give them too, in float and double.
  const auto fast = [&]<typename T>(T) {
    const std::vector<T> xt(x.begin(), x.end()), wt(w.begin(), w.end()), bt(b.begin(), b.end()),
        et(e.begin(), e.end());
    Results<T> r = nan_results<T>(s);
    std::vector<T> workspace;
    fully_connected_forward(s, xt.data(), wt.data(), bt.data(), r.output.data(), workspace);
    fully_connected_backward(s, xt.data(), wt.data(), et.data(), r.input_error.data(),
                             r.weight_gradient.data(), r.bias_gradient.data(), workspace);
    EXPECT_EQ(std::vector<double>(r.output.begin(), r.output.end()), expected.output);
    EXPECT_EQ(std::vector<double>(r.input_error.begin(), r.input_error.end()),
              expected.input_error);
    EXPECT_EQ(std::vector<double>(r.weight_gradient.begin(), r.weight_gradient.end()),
              expected.weight_gradient);
    EXPECT_EQ(std::vector<double>(r.bias_gradient.begin(), r.bias_gradient.end()),
              expected.bias_gradient);
  };
  fast(0.0f);
  fast(0.0);
}

// Whether the fast kernels must give the reference's bits: float through small_gemm.
template <typename T>
bool bit_exact() {
  return std::is_same_v<T, float> && runtime::best_simd_level() != runtime::SimdLevel::kNone;
}

template <typename T>
void expect_matches(const std::vector<T>& actual, const std::vector<T>& expected, T tolerance,
                    const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (bit_exact<T>()) {
      ASSERT_EQ(actual[i], expected[i]) << what << " element " << i;
    } else {
      ASSERT_NEAR(actual[i], expected[i], tolerance * (T(1) + std::abs(expected[i])))
          << what << " element " << i;
    }
  }
}

struct Row {
  const char* name;
  FullyConnectedShape s;
};

const Row kRows[] = {
    {"784 -> 120, batch 64 (cut among threads)", {64, 784, 120}},
    {"120 -> 84, batch 64", {64, 120, 84}},
    {"84 -> 10, batch 64 (one block)", {64, 84, 10}},
    {"widths off the registers", {33, 37, 45}},
    {"one sample", {1, 300, 17}},
    {"one output", {50, 200, 1}},
    {"one input", {70, 1, 40}},
    {"input error in uneven register columns", {96, 1000, 130}},
    {"W5's 1536 -> 128, batch 64", {64, 1536, 128}},
    {"outputs past several panels of W^T, odd widths", {7, 90, 1100}},
    {"a few samples: E_{n-1}^T = W E^T", {8, 300, 70}},
    {"a few samples, cut among threads", {24, 1000, 130}},
    {"the most samples through W E^T", {32, 150, 33}},
};

template <typename T>
void check_fast_against_reference(const Row& row, T tolerance) {
  SCOPED_TRACE(row.name);
  const FullyConnectedShape& s = row.s;
  std::mt19937 engine(static_cast<unsigned>(s.batch * 131 + s.inputs * 7 + s.outputs));
  const auto input = random_values<T>(s.batch * s.inputs, engine);
  const auto weights = random_values<T>(s.inputs * s.outputs, engine);
  const auto bias = random_values<T>(s.outputs, engine);
  const auto error = random_values<T>(s.batch * s.outputs, engine);

  Results<T> reference = nan_results<T>(s);
  fully_connected_forward_reference(s, input.data(), weights.data(), bias.data(),
                                    reference.output.data());
  fully_connected_backward_reference(s, input.data(), weights.data(), error.data(),
                                     reference.input_error.data(), reference.weight_gradient.data(),
                                     reference.bias_gradient.data());

  const ThreadCountGuard guard;
  for (const std::size_t threads : {1u, 2u, 3u}) {
    set_num_threads(threads);
    SCOPED_TRACE(std::to_string(threads) + " thread(s)");
    Results<T> fast = nan_results<T>(s);
    std::vector<T> forward_workspace, backward_workspace;
    fully_connected_forward(s, input.data(), weights.data(), bias.data(), fast.output.data(),
                            forward_workspace);
    fully_connected_backward(s, input.data(), weights.data(), error.data(), fast.input_error.data(),
                             fast.weight_gradient.data(), fast.bias_gradient.data(),
                             backward_workspace);
    expect_matches(fast.output, reference.output, tolerance, "output");
    expect_matches(fast.input_error, reference.input_error, tolerance, "input error");
    expect_matches(fast.weight_gradient, reference.weight_gradient, tolerance, "weight gradient");
    // Plain sums in batch order on either path.
    EXPECT_EQ(fast.bias_gradient, reference.bias_gradient);
  }
}

// Float at every SIMD level the CPU has (the AVX2 blocks too on an AVX-512 CPU), forced as
// CNNKIT_SIMD would; through BLAS on a CPU with neither.
TEST(FullyConnectedKernels, FloatMatchesTheReference) {
  struct Restore {
    std::string saved = simd_level();
    ~Restore() { set_simd_level(saved); }
  } restore;
  bool any_level = false;
  for (const char* level : {"avx2", "avx512"}) {
    if (runtime::cpu_simd_level() < runtime::parse_simd_level(level, "test")) continue;
    any_level = true;
    set_simd_level(level);
    SCOPED_TRACE(level);
    for (const Row& row : kRows) check_fast_against_reference<float>(row, 1e-5f);
  }
  if (!any_level) {
    for (const Row& row : kRows) check_fast_against_reference<float>(row, 1e-5f);
  }
}

TEST(FullyConnectedKernels, DoubleMatchesTheReference) {
  for (const Row& row : kRows) check_fast_against_reference<double>(row, 1e-12);
}

TEST(FullyConnectedKernels, WithoutAnInputErrorTheGradientsStillCome) {
  const FullyConnectedShape s{8, 20, 6};
  std::mt19937 engine(5);
  const auto input = random_values<float>(s.batch * s.inputs, engine);
  const auto weights = random_values<float>(s.inputs * s.outputs, engine);
  const auto error = random_values<float>(s.batch * s.outputs, engine);
  Results<float> reference = nan_results<float>(s);
  fully_connected_backward_reference(s, input.data(), weights.data(), error.data(),
                                     static_cast<float*>(nullptr), reference.weight_gradient.data(),
                                     reference.bias_gradient.data());
  Results<float> fast = nan_results<float>(s);
  std::vector<float> workspace;
  fully_connected_backward(s, input.data(), weights.data(), error.data(),
                           static_cast<float*>(nullptr), fast.weight_gradient.data(),
                           fast.bias_gradient.data(), workspace);
  expect_matches(fast.weight_gradient, reference.weight_gradient, 1e-5f, "weight gradient");
  EXPECT_EQ(fast.bias_gradient, reference.bias_gradient);
}

}  // namespace
}  // namespace cnnkit::kernels
