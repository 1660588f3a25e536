// The ReLU and max-pooling kernels (kernels/elementwise.hpp) against their definitions, on random
// data with ties and zeros, odd plane sizes and rows longer than one SIMD register; the SIMD
// pooling at every instruction-set level this CPU runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/elementwise.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::best_simd_level;
using runtime::SimdLevel;

// Values from a small set, so that ties and exact zeros are common.
template <typename T>
std::vector<T> coarse_values(std::size_t n, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_int_distribution<int> pick(-3, 3);
  std::vector<T> v(n);
  for (T& x : v) x = static_cast<T>(pick(engine)) * T(0.5);
  return v;
}

template <typename T>
void check_relu() {
  const std::vector<T> x = coarse_values<T>(1001, 1), e = coarse_values<T>(1001, 2);
  std::vector<T> y(x.size()), y_inference(x.size()), dx(x.size());
  std::vector<std::uint8_t> passes(x.size(), 7);
  relu_forward(x.data(), y.data(), passes.data(), x.size());
  relu_forward(x.data(), y_inference.data(), nullptr, x.size());
  relu_backward(passes.data(), e.data(), dx.data(), x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(y[i], x[i] > 0 ? x[i] : T(0)) << i;
    EXPECT_EQ(y_inference[i], y[i]) << i;
    EXPECT_EQ(passes[i], x[i] > 0 ? 1 : 0) << i;
    // The subgradient at 0 is 0: no error passes where x == 0.
    EXPECT_EQ(dx[i], x[i] > 0 ? e[i] : T(0)) << i;
  }
}

TEST(ElementwiseKernels, ReluMatchesItsDefinition) {
  check_relu<float>();
  check_relu<double>();
}

TEST(ElementwiseKernels, ReluByHand) {
  const float x[] = {-2.0f, 0.0f, 3.0f, -0.0f, 0.5f};
  const float e[] = {10.0f, 20.0f, 30.0f, 40.0f, 50.0f};
  float y[5], dx[5];
  std::uint8_t passes[5];
  relu_forward(x, y, passes, 5);
  relu_backward(passes, e, dx, 5);
  const float want_y[] = {0.0f, 0.0f, 3.0f, 0.0f, 0.5f};
  const float want_dx[] = {0.0f, 0.0f, 30.0f, 0.0f, 50.0f};
  const std::uint8_t want_passes[] = {0, 0, 1, 0, 1};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(passes[i], want_passes[i]);
    EXPECT_EQ(y[i], want_y[i]);
    EXPECT_EQ(dx[i], want_dx[i]);
  }
}

struct PoolCase {
  std::size_t in_y, in_x, py, px, sy, sx;
};

// The definition: scan each window row-major, keep the first strict maximum.
template <typename T>
void reference_pool(const std::vector<T>& in, const PoolCase& c, std::vector<T>& out,
                    std::vector<std::uint32_t>& arg) {
  const std::size_t out_y = (c.in_y - c.py) / c.sy + 1, out_x = (c.in_x - c.px) / c.sx + 1;
  out.assign(out_y * out_x, T(0));
  arg.assign(out_y * out_x, 0);
  for (std::size_t oy = 0; oy < out_y; ++oy) {
    for (std::size_t ox = 0; ox < out_x; ++ox) {
      std::size_t best = oy * c.sy * c.in_x + ox * c.sx;
      for (std::size_t wy = 0; wy < c.py; ++wy) {
        for (std::size_t wx = 0; wx < c.px; ++wx) {
          const std::size_t i = (oy * c.sy + wy) * c.in_x + ox * c.sx + wx;
          if (in[i] > in[best]) best = i;
        }
      }
      out[oy * out_x + ox] = in[best];
      arg[oy * out_x + ox] = static_cast<std::uint32_t>(best);
    }
  }
}

const PoolCase kPoolCases[] = {
    {28, 28, 2, 2, 2, 2},
    {14, 14, 2, 2, 2, 2},
    {7, 9, 2, 2, 2, 2},
    {5, 70, 2, 2, 2, 2},
    {3, 33, 2, 2, 2, 2},
    {8, 8, 2, 2, 1, 1},
    {9, 10, 3, 3, 2, 2},
    {6, 7, 3, 2, 3, 1},
    {2, 2, 2, 2, 2, 2},
    {4, 67, 2, 2, 2, 2},
    {1, 5, 1, 2, 1, 2},
    // 1-D planes (L, 1), window 2, stride 2 (L odd leaves the last value out).
    {25, 1, 2, 1, 2, 1},
    {50, 1, 2, 1, 2, 1},
    {33, 1, 2, 1, 2, 1},
    {2, 1, 2, 1, 2, 1},
    // Windows that do not overlap but are not pairs, with rows and columns no window reads.
    {10, 11, 3, 3, 3, 3},
    {7, 5, 3, 2, 3, 2},
    {11, 1, 3, 1, 3, 1},
    {4, 4, 1, 1, 1, 1},
    {11, 13, 2, 2, 3, 3},
};

// Values compared bit for bit: -0 and +0 differ, as they may in the next layer's sums' signs.
template <typename T>
void expect_same_bits(const std::vector<T>& got, const std::vector<T>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(std::memcmp(&got[i], &want[i], sizeof(T)), 0)
        << i << ": " << got[i] << " vs " << want[i];
  }
}

// coarse_values with the negatives and zeros made -0 and +0 in turn: many windows whose maximum
// is a tie of -0 and +0, where the first must win.
template <typename T>
std::vector<T> signed_zero_values(std::size_t n, unsigned seed) {
  std::vector<T> v = coarse_values<T>(n, seed);
  bool negate = true;
  for (T& x : v) {
    if (x <= T(0)) {
      x = negate ? -T(0) : T(0);
      negate = !negate;
    }
  }
  return v;
}

template <typename T>
void check_pooling() {
  unsigned seed = 3;
  for (const PoolCase& c : kPoolCases) {
    SCOPED_TRACE(::testing::Message() << c.in_y << "x" << c.in_x << " window " << c.py << "x"
                                      << c.px << " stride " << c.sy << "," << c.sx);
    const std::vector<T> in = signed_zero_values<T>(c.in_y * c.in_x, seed++);
    std::vector<T> want;
    std::vector<std::uint32_t> want_arg;
    reference_pool(in, c, want, want_arg);
    const std::size_t out_y = (c.in_y - c.py) / c.sy + 1, out_x = (c.in_x - c.px) / c.sx + 1;
    std::vector<T> out(want.size(), T(-99));
    std::vector<std::uint32_t> arg(want.size(), 12345);
    max_pool_plane(in.data(), c.in_x, c.py, c.px, c.sy, c.sx, out_y, out_x, out.data(), arg.data());
    expect_same_bits(out, want);
    EXPECT_EQ(arg, want_arg);
    // The testing phase: no argmax, the same maxima.
    std::vector<T> out_only(want.size(), T(-99));
    max_pool_plane(in.data(), c.in_x, c.py, c.px, c.sy, c.sx, out_y, out_x, out_only.data(),
                   static_cast<std::uint32_t*>(nullptr));
    expect_same_bits(out_only, want);
  }
}

TEST(ElementwiseKernels, MaxPoolingMatchesTheDefinitionWithTies) {
  check_pooling<float>();
  check_pooling<double>();
}

TEST(ElementwiseKernels, SimdMaxPoolingAtEveryLevel) {
  using Fn = void (*)(const float*, std::size_t, std::size_t, std::size_t, std::size_t, float*,
                      std::uint32_t*);
  std::vector<std::pair<SimdLevel, Fn>> levels;
  if (best_simd_level() >= SimdLevel::kAvx2) {
    levels.emplace_back(SimdLevel::kAvx2, &detail::max_pool_pairs_avx2);
  }
  if (best_simd_level() >= SimdLevel::kAvx512) {
    levels.emplace_back(SimdLevel::kAvx512, &detail::max_pool_pairs_avx512);
  }
  if (levels.empty()) GTEST_SKIP() << "no SIMD level on this CPU";
  unsigned seed = 40;
  for (const auto& [level, pool] : levels) {
    for (const PoolCase& c : kPoolCases) {
      const bool two_by_two = c.py == 2 && c.px == 2 && c.sy == 2 && c.sx == 2;
      const bool one_d = c.py == 2 && c.sy == 2 && c.px == 1 && c.sx == 1 && c.in_x == 1;
      if (!two_by_two && !one_d) continue;
      SCOPED_TRACE(::testing::Message() << to_string(level) << " " << c.in_y << "x" << c.in_x);
      const std::vector<float> in = signed_zero_values<float>(c.in_y * c.in_x, seed++);
      std::vector<float> want;
      std::vector<std::uint32_t> want_arg;
      reference_pool(in, c, want, want_arg);
      // One guard element past the end: the kernel must not write it.
      std::vector<float> out(want.size() + 1, -99.0f), out_only(want.size() + 1, -99.0f);
      std::vector<std::uint32_t> arg(want.size() + 1, 12345);
      if (two_by_two) {
        pool(in.data(), c.in_x, 2, c.in_y / 2, c.in_x / 2, out.data(), arg.data());
        pool(in.data(), c.in_x, 2, c.in_y / 2, c.in_x / 2, out_only.data(), nullptr);
      } else {  // the plane (L, 1) as the row (1, L), one window row
        pool(in.data(), c.in_y, 1, 1, c.in_y / 2, out.data(), arg.data());
        pool(in.data(), c.in_y, 1, 1, c.in_y / 2, out_only.data(), nullptr);
      }
      expect_same_bits(std::vector<float>(out.begin(), out.end() - 1), want);
      expect_same_bits(std::vector<float>(out_only.begin(), out_only.end() - 1), want);
      EXPECT_EQ(std::vector<std::uint32_t>(arg.begin(), arg.end() - 1), want_arg);
      EXPECT_EQ(out.back(), -99.0f);
      EXPECT_EQ(out_only.back(), -99.0f);
      EXPECT_EQ(arg.back(), 12345u);
    }
  }
}

}  // namespace
}  // namespace cnnkit::kernels
