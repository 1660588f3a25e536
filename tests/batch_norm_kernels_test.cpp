// The BatchNorm kernels (kernels/batch_norm_kernels.hpp) against their reference twins on odd
// shapes (planes shorter and longer than the 16 partial sums, with tails; ranges that start and
// end inside the tensor), float and double: the sums to double rounding, the element-wise loops
// to the bit, nothing written outside the range, with and without the fused ReLU (its gate kills
// about half of the errors here); the same bits at every instruction-set level this CPU runs (the
// layer's same bits on 1 and 2 threads: batch_norm_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "cnnkit/simd_level.hpp"
#include "kernels/batch_norm_kernels.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {
namespace {

// (channels, spatial, begin, end) of a 5-sample tensor: a (batch, features) input (spatial 1),
// planes shorter than the partial sums, a multiple of them, and longer with a tail
// (37, 196 = 12 * 16 + 4).
const std::vector<PlaneRange>& ranges() {
  static const std::vector<PlaneRange> all{
      {3, 1, 0, 15}, {2, 5, 1, 9}, {3, 16, 0, 15}, {5, 37, 3, 22}, {3, 196, 2, 15}};
  return all;
}

// Uniform values in [low, high): an offset from 0, so that centring matters.
template <typename T>
std::vector<T> uniform_values(std::size_t n, double low, double high, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> uniform(low, high);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(uniform(engine));
  return v;
}

std::size_t elements(const PlaneRange& range) {
  return 5 * range.channels * range.spatial;
}
std::string name(const PlaneRange& r) {
  return std::to_string(r.channels) + " channels x " + std::to_string(r.spatial) + ", planes " +
         std::to_string(r.begin) + ".." + std::to_string(r.end);
}

template <typename T>
void check_against_reference() {
  for (const PlaneRange& range : ranges()) {
    SCOPED_TRACE(name(range));
    const std::vector<T> x = uniform_values<T>(elements(range), 2, 5, 1);
    const std::vector<T> e = uniform_values<T>(elements(range), -1, 1, 2);
    const std::vector<double> shift = uniform_values<double>(range.channels, 2, 5, 3);
    const std::vector<double> coefficient = uniform_values<double>(4 * range.channels, -2, 2, 4);
    const double* k = coefficient.data();
    const double* mean_error = k + range.channels;
    const double* x_hat_weight = mean_error + range.channels;
    const double* mean = x_hat_weight + range.channels;
    const std::vector<T> factor = uniform_values<T>(range.channels, -2, 2, 5);
    const std::vector<T> offset = uniform_values<T>(range.channels, -2, 2, 6);

    const std::size_t pairs = 2 * elements(range) / range.spatial;
    std::vector<double> sums(pairs, -7), reference_sums(pairs, -7);
    shifted_sums(x.data(), shift.data(), range, sums.data());
    reference::shifted_sums(x.data(), shift.data(), range, reference_sums.data());
    // Sums of terms of both signs: relative to the size of the terms, not of the sum.
    const double scale = static_cast<double>(range.spatial) * 10.0;
    for (std::size_t i = 0; i < pairs; ++i) {
      EXPECT_NEAR(sums[i], reference_sums[i], 1e-14 * scale) << i;
      const bool inside = i >= 2 * range.begin && i < 2 * range.end;
      if (!inside) {
        EXPECT_EQ(sums[i], -7) << i;
      }
    }
    // The gate: y = factor x + offset crosses 0 inside the values of x (offset -3.5 factor).
    std::vector<T> gate_offset(range.channels);
    for (std::size_t c = 0; c < range.channels; ++c) gate_offset[c] = T(-3.5) * factor[c];
    const ReluGate<T> gate{factor.data(), gate_offset.data()};
    std::vector<T> y(x.size(), T(-7)), reference_y(x.size(), T(-7));
    std::vector<T> dx(x.size(), T(-7)), reference_dx(x.size(), T(-7));
    for (const bool fused : {false, true}) {
      SCOPED_TRACE(fused ? "fused ReLU" : "plain");
      const ReluGate<T> used = fused ? gate : ReluGate<T>{};
      error_sums(x.data(), e.data(), mean, used, range, sums.data());
      reference::error_sums(x.data(), e.data(), mean, used, range, reference_sums.data());
      for (std::size_t i = 2 * range.begin; i < 2 * range.end; ++i) {
        EXPECT_NEAR(sums[i], reference_sums[i], 1e-14 * scale) << i;
      }
      // Element-wise: exactly the reference's values, and nothing outside the range is touched.
      affine(x.data(), y.data(), factor.data(), gate_offset.data(), fused, range);
      reference::affine(x.data(), reference_y.data(), factor.data(), gate_offset.data(), fused,
                        range);
      EXPECT_EQ(y, reference_y);
      input_error(x.data(), e.data(), dx.data(), mean, k, mean_error, x_hat_weight, used, range);
      reference::input_error(x.data(), e.data(), reference_dx.data(), mean, k, mean_error,
                             x_hat_weight, used, range);
      EXPECT_EQ(dx, reference_dx);
    }
    // The reference's gate is ReLU's mask of y: the fused output and errors are the pair's.
    std::vector<T> plain_y(x.size()), plain_error(x.size()), fused_error(x.size());
    reference::affine(x.data(), plain_y.data(), factor.data(), gate_offset.data(), false, range);
    const double no_shift = 0, unit = 1, none = 0;
    std::size_t passed = 0, stopped = 0;
    for (std::size_t i = range.begin * range.spatial; i < range.end * range.spatial; ++i) {
      const std::size_t channel = (i / range.spatial) % range.channels;
      const bool positive = plain_y[i] > T(0);
      EXPECT_EQ(reference_y[i], positive ? plain_y[i] : T(0)) << i;
      (positive ? passed : stopped) += 1;
      // dx with k 1 and no centring terms is the gated error itself.
      reference::input_error(x.data() + i, e.data() + i, fused_error.data() + i, &no_shift, &unit,
                             &none, &none, ReluGate<T>{&factor[channel], &gate_offset[channel]},
                             PlaneRange{1, 1, 0, 1});
      EXPECT_EQ(fused_error[i], positive ? e[i] : T(0)) << i;
    }
    EXPECT_GT(passed, 0U);
    EXPECT_GT(stopped, 0U);
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (i < range.begin * range.spatial || i >= range.end * range.spatial) {
        EXPECT_EQ(y[i], T(-7)) << i;
        EXPECT_EQ(dx[i], T(-7)) << i;
      }
    }
  }
}

TEST(BatchNormKernels, MatchTheReferenceFloat) {
  check_against_reference<float>();
}
TEST(BatchNormKernels, MatchTheReferenceDouble) {
  check_against_reference<double>();
}

// Both kernels' sums of one range at the current level.
template <typename T>
std::vector<double> statistics(const std::vector<T>& x, const std::vector<T>& e,
                               const PlaneRange& range) {
  const std::vector<double> shift(range.channels, 3.5);
  std::vector<double> out(4 * elements(range) / range.spatial);
  shifted_sums(x.data(), shift.data(), range, out.data());
  error_sums(x.data(), e.data(), shift.data(), ReluGate<T>{}, range, out.data() + out.size() / 2);
  // With a gate on a channel-wide factor 1 and offset -3.5: the middle of the values of x.
  const std::vector<T> factor(range.channels, T(1)), offset(range.channels, T(-3.5));
  std::vector<double> gated(out.size() / 2);
  error_sums(x.data(), e.data(), shift.data(), ReluGate<T>{factor.data(), offset.data()}, range,
             gated.data());
  out.insert(out.end(), gated.begin(), gated.end());
  return out;
}

template <typename T>
void check_same_bits_on_every_level() {
  struct Restore {
    std::string saved = simd_level();
    ~Restore() { set_simd_level(saved); }
  } restore;
  for (const PlaneRange& range : ranges()) {
    SCOPED_TRACE(name(range));
    const std::vector<T> x = uniform_values<T>(elements(range), 2, 5, 3);
    const std::vector<T> e = uniform_values<T>(elements(range), -1, 1, 4);
    set_simd_level("none");
    const std::vector<double> baseline = statistics(x, e, range);
    for (const char* level : {"avx2", "avx512"}) {
      if (runtime::cpu_simd_level() < runtime::parse_simd_level(level, "test")) continue;
      set_simd_level(level);
      SCOPED_TRACE(level);
      EXPECT_EQ(statistics(x, e, range), baseline);
    }
  }
}

TEST(BatchNormKernels, SameBitsOnEveryInstructionSet) {
  check_same_bits_on_every_level<float>();
  check_same_bits_on_every_level<double>();
}

}  // namespace
}  // namespace cnnkit::kernels
