// The BatchNorm kernels (kernels/batch_norm_kernels.hpp) against their reference twins on odd
// shapes (planes shorter and longer than the 16 partial sums, with tails), float and double:
// the sums to double rounding, the element-wise loops to the bit; the same bits at every
// instruction-set level this CPU runs (the layer's same bits on 1 and 2 threads: batch_norm_test).
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

// Layouts (batch, channels, spatial): a (batch, features) input (spatial 1), planes shorter than
// the partial sums, a multiple of them, and longer with a tail (37, 196 = 12 * 16 + 4).
const std::vector<ChannelLayout>& layouts() {
  static const std::vector<ChannelLayout> all{
      {7, 3, 1}, {3, 2, 5}, {2, 3, 16}, {3, 5, 37}, {5, 3, 196}};
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

std::size_t elements(const ChannelLayout& layout) {
  return layout.batch * layout.channels * layout.spatial;
}

// Every kernel on channel c of each layout, fast against the reference.
template <typename T>
void check_against_reference() {
  for (const ChannelLayout& layout : layouts()) {
    SCOPED_TRACE(std::to_string(layout.batch) + "x" + std::to_string(layout.channels) + "x" +
                 std::to_string(layout.spatial));
    const std::vector<T> x = uniform_values<T>(elements(layout), 2, 5, 1);
    const std::vector<T> e = uniform_values<T>(elements(layout), -1, 1, 2);
    for (std::size_t c = 0; c < layout.channels; ++c) {
      const double sum = channel_sum(x.data(), layout, c);
      const double reference_sum = reference::channel_sum(x.data(), layout, c);
      EXPECT_NEAR(sum, reference_sum, 1e-13 * std::abs(reference_sum));
      const double mean = reference_sum / static_cast<double>(layout.per_channel());
      const double squares = channel_centred_square_sum(x.data(), layout, c, mean);
      const double reference_squares =
          reference::channel_centred_square_sum(x.data(), layout, c, mean);
      EXPECT_NEAR(squares, reference_squares, 1e-13 * reference_squares);
      EXPECT_GT(reference_squares, 0.0);

      double error_sum = -1, error_x_hat_sum = -1, reference_error_sum = 0,
             reference_error_x_hat_sum = 0;
      channel_error_sums(x.data(), e.data(), layout, c, mean, 1.25, error_sum, error_x_hat_sum);
      reference::channel_error_sums(x.data(), e.data(), layout, c, mean, 1.25, reference_error_sum,
                                    reference_error_x_hat_sum);
      // Sums of terms of both signs: relative to the size of the terms, not of the sum.
      const double scale = static_cast<double>(layout.per_channel()) * 4.0;
      EXPECT_NEAR(error_sum, reference_error_sum, 1e-14 * scale);
      EXPECT_NEAR(error_x_hat_sum, reference_error_x_hat_sum, 1e-14 * scale);

      // Element-wise: exactly the reference's values, and nothing outside channel c is touched.
      std::vector<T> y(x.size(), T(-7)), reference_y(x.size(), T(-7));
      channel_affine(x.data(), y.data(), layout, c, T(0.75), T(-1.5));
      reference::channel_affine(x.data(), reference_y.data(), layout, c, T(0.75), T(-1.5));
      EXPECT_EQ(y, reference_y);
      std::vector<T> dx(x.size(), T(-7)), reference_dx(x.size(), T(-7));
      channel_input_error(x.data(), e.data(), dx.data(), layout, c, mean, 1.5, 0.125, 0.3);
      reference::channel_input_error(x.data(), e.data(), reference_dx.data(), layout, c, mean, 1.5,
                                     0.125, 0.3);
      EXPECT_EQ(dx, reference_dx);
    }
  }
}

TEST(BatchNormKernels, MatchTheReferenceFloat) {
  check_against_reference<float>();
}
TEST(BatchNormKernels, MatchTheReferenceDouble) {
  check_against_reference<double>();
}

// The statistics of one layout at the current level.
template <typename T>
std::vector<double> statistics(const std::vector<T>& x, const std::vector<T>& e,
                               const ChannelLayout& layout) {
  std::vector<double> out;
  for (std::size_t c = 0; c < layout.channels; ++c) {
    const double sum = channel_sum(x.data(), layout, c);
    out.push_back(sum);
    out.push_back(channel_centred_square_sum(x.data(), layout, c, 3.5));
    double error_sum = 0, error_x_hat_sum = 0;
    channel_error_sums(x.data(), e.data(), layout, c, 3.5, 0.8, error_sum, error_x_hat_sum);
    out.push_back(error_sum);
    out.push_back(error_x_hat_sum);
  }
  return out;
}

template <typename T>
void check_same_bits_on_every_level() {
  struct Restore {
    std::string saved = simd_level();
    ~Restore() { set_simd_level(saved); }
  } restore;
  for (const ChannelLayout& layout : layouts()) {
    const std::vector<T> x = uniform_values<T>(elements(layout), 2, 5, 3);
    const std::vector<T> e = uniform_values<T>(elements(layout), -1, 1, 4);
    set_simd_level("none");
    const std::vector<double> baseline = statistics(x, e, layout);
    for (const char* level : {"avx2", "avx512"}) {
      const runtime::SimdLevel wanted = runtime::parse_simd_level(level, "test");
      if (runtime::cpu_simd_level() < wanted) continue;
      set_simd_level(level);
      SCOPED_TRACE(level);
      EXPECT_EQ(statistics(x, e, layout), baseline);
    }
  }
}

TEST(BatchNormKernels, SameBitsOnEveryInstructionSet) {
  check_same_bits_on_every_level<float>();
  check_same_bits_on_every_level<double>();
}

}  // namespace
}  // namespace cnnkit::kernels
