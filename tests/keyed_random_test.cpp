// The keyed generator: Philox4x32-10 against Random123's known answers, the layout of a key in
// Philox's counter, and statistics of the draws (fixed keys, so every bound below is checked on
// the same numbers each run; each bound is 5 standard deviations or a chi-square far tail).
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cnnkit/keyed_random.hpp"

namespace cnnkit {
namespace {

// Random123's kat_vectors for philox4x32 with 10 rounds (counter, key, result).
TEST(Philox, MatchesRandom123KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(
      philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
      (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(
      philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
      (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(KeyedRandom, DrawsTheBlocksOfItsKeyInOrder) {
  const RandomKey key{.seed = 0x0123456789abcdefULL, .step = 17, .sample = 5, .stream = 3};
  KeyedRandom random(key);
  const PhiloxKey philox_key{0x89abcdef, 0x01234567};
  for (std::uint32_t block = 0; block < 3; ++block) {
    const PhiloxCounter expected = philox4x32_10({block, 3, 5, 17}, philox_key);
    for (const std::uint32_t word : expected) EXPECT_EQ(random.next_u32(), word);
  }
}

TEST(KeyedRandom, IsAPureFunctionOfTheKey) {
  KeyedRandom a({1, 2, 3, 4});
  KeyedRandom b({1, 2, 3, 4});
  for (int i = 0; i < 100; ++i) ASSERT_EQ(a.next_u32(), b.next_u32());
  // Each part of the key changes the sequence.
  const std::uint32_t first = KeyedRandom({1, 2, 3, 4}).next_u32();
  EXPECT_NE(KeyedRandom({9, 2, 3, 4}).next_u32(), first);
  EXPECT_NE(KeyedRandom({1, 9, 3, 4}).next_u32(), first);
  EXPECT_NE(KeyedRandom({1, 2, 9, 4}).next_u32(), first);
  EXPECT_NE(KeyedRandom({1, 2, 3, 9}).next_u32(), first);
  EXPECT_NE(KeyedRandom({std::uint64_t{1} << 32 | 1, 2, 3, 4}).next_u32(), first);
}

// `draws` values of draw() are in [0, 1) with the mean and variance of the uniform distribution:
// the mean's standard deviation is sqrt(1/12 / N), the variance's about sqrt(1/180 / N).
template <typename Draw>
void expect_uniform01_moments(int draws, const Draw& draw) {
  double sum = 0.0;
  double squares = 0.0;
  for (int i = 0; i < draws; ++i) {
    const double u = draw();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    squares += u * u;
  }
  const double mean = sum / draws;
  EXPECT_NEAR(mean, 0.5, 5.0 * std::sqrt(1.0 / 12.0 / draws));
  EXPECT_NEAR(squares / draws - mean * mean, 1.0 / 12.0, 5.0 * std::sqrt(1.0 / 180.0 / draws));
}

TEST(KeyedRandom, UniformFloatHasTheMomentsOfUniform01) {
  KeyedRandom random({42, 0, 0, 0});
  expect_uniform01_moments(200000, [&] { return random.uniform_float(); });
}

TEST(KeyedRandom, UniformDoubleHasTheMomentsOfUniform01) {
  KeyedRandom random({43, 1, 2, 3});
  expect_uniform01_moments(100000, [&] { return random.uniform_double(); });
}

// Pearson's chi-square over 64 equal bins of uniform_float: 63 degrees of freedom, so the
// statistic is 63 +- 11.2; 130 is beyond the 1e-6 tail, and a value near 0 would be too even.
TEST(KeyedRandom, UniformFloatPassesAChiSquareTest) {
  KeyedRandom random({7, 0, 0, 0});
  constexpr int kBins = 64;
  constexpr int kDraws = 64000;
  std::array<int, kBins> counts{};
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<int>(random.uniform_float() * kBins)];
  const double expected = static_cast<double>(kDraws) / kBins;
  double chi_square = 0.0;
  for (const int count : counts) chi_square += (count - expected) * (count - expected) / expected;
  EXPECT_LT(chi_square, 130.0);
  EXPECT_GT(chi_square, 25.0);
}

TEST(KeyedRandom, BelowIsUniformOverItsRange) {
  KeyedRandom random({8, 0, 0, 0});
  constexpr int kValues = 5;
  constexpr int kDraws = 50000;
  std::array<int, kValues> counts{};
  for (int i = 0; i < kDraws; ++i) {
    const std::uint32_t value = random.below(kValues);
    ASSERT_LT(value, static_cast<std::uint32_t>(kValues));
    ++counts[value];
  }
  // Chi-square with 4 degrees of freedom: 4 +- 2.8; 35 is beyond the 1e-6 tail.
  const double expected = static_cast<double>(kDraws) / kValues;
  double chi_square = 0.0;
  for (const int count : counts) chi_square += (count - expected) * (count - expected) / expected;
  EXPECT_LT(chi_square, 35.0);
}

TEST(KeyedRandom, BernoulliKeepsItsProbability) {
  KeyedRandom random({9, 0, 0, 0});
  constexpr int kDraws = 100000;
  for (const double p : {0.1, 0.3, 0.5, 0.9}) {
    int hits = 0;
    for (int i = 0; i < kDraws; ++i) hits += random.bernoulli(p) ? 1 : 0;
    // Binomial: mean N p, standard deviation sqrt(N p (1 - p)).
    EXPECT_NEAR(hits, kDraws * p, 5.0 * std::sqrt(kDraws * p * (1.0 - p))) << "p " << p;
  }
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(random.bernoulli(0.0));
    ASSERT_TRUE(random.bernoulli(1.0));
  }
}

// Neighbouring keys (sample i and i + 1, step s and s + 1, stream k and k + 1) must give
// uncorrelated draws: the correlation of N pairs is 0 +- 1 / sqrt(N) for independent ones.
TEST(KeyedRandom, NeighbouringKeysAreUncorrelated) {
  constexpr int kPairs = 20000;
  const auto correlation = [](auto key_of) {
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < kPairs; ++i) {
      const double x = KeyedRandom(key_of(i, 0)).uniform_double();
      const double y = KeyedRandom(key_of(i, 1)).uniform_double();
      sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
    }
    const double n = kPairs;
    return (sxy / n - sx / n * sy / n) /
           std::sqrt((sxx / n - sx / n * sx / n) * (syy / n - sy / n * sy / n));
  };
  const double bound = 5.0 / std::sqrt(static_cast<double>(kPairs));
  const auto u64 = [](int i) { return static_cast<std::uint64_t>(i); };
  const auto u32 = [](int i) { return static_cast<std::uint32_t>(i); };
  EXPECT_LT(std::abs(correlation([&](int i, int d) {
              return RandomKey{3, 5, u64(i + d), 1};
            })),
            bound);
  EXPECT_LT(std::abs(correlation([&](int i, int d) {
              return RandomKey{3, u64(i + d), 7, 1};
            })),
            bound);
  EXPECT_LT(std::abs(correlation([&](int i, int d) {
              return RandomKey{3, 5, u64(i), u32(2 * i + d)};
            })),
            bound);
  EXPECT_LT(std::abs(correlation([&](int i, int d) {
              return RandomKey{u64(i + d), 5, 7, 1};
            })),
            bound);
}

}  // namespace
}  // namespace cnnkit
