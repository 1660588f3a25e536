// How work is shared among threads (runtime/parallel.hpp): AffineShare hands every item out
// exactly once, a thread's own contiguous range first and in order, then the others' ranges;
// the element-wise kernels cut their loop at the same places on any thread count and give the
// same values as on one thread.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "cnnkit/threading.hpp"
#include "kernels/elementwise.hpp"
#include "runtime/parallel.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::kernels {
namespace {

using runtime::AffineShare;

// The items one thread runs, in the order it runs them, when it is alone with the share.
std::vector<std::size_t> order_on(AffineShare& share, std::size_t thread) {
  std::vector<std::size_t> order;
  share.run(thread, [&](std::size_t item) { order.push_back(item); });
  return order;
}

TEST(AffineShare, AThreadAloneTakesItsOwnRangeFirstThenTheNextRanges) {
  // 10 items in 4 ranges: [0, 2), [2, 5), [5, 7), [7, 10).
  AffineShare from_zero(10, 4);
  EXPECT_EQ(order_on(from_zero, 0), (std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  AffineShare from_two(10, 4);
  EXPECT_EQ(order_on(from_two, 2), (std::vector<std::size_t>{5, 6, 7, 8, 9, 0, 1, 2, 3, 4}));
  AffineShare from_three(10, 4);
  EXPECT_EQ(order_on(from_three, 3), (std::vector<std::size_t>{7, 8, 9, 0, 1, 2, 3, 4, 5, 6}));
}

TEST(AffineShare, WhatOneThreadTookIsNotHandedOutAgain) {
  AffineShare share(6, 2);  // ranges [0, 3) and [3, 6)
  // Thread 1 comes first and, with thread 0 not there yet, takes thread 0's range too.
  EXPECT_EQ(order_on(share, 1), (std::vector<std::size_t>{3, 4, 5, 0, 1, 2}));
  EXPECT_TRUE(order_on(share, 0).empty());  // everything is taken
}

TEST(AffineShare, MoreItemsThanRangesAndFewerItemsThanRanges) {
  AffineShare few(2, 5);  // ranges [0, 0), [0, 1), [1, 1), [1, 2), [2, 2)
  EXPECT_EQ(order_on(few, 0), (std::vector<std::size_t>{0, 1}));
  AffineShare none(0, 3);
  EXPECT_TRUE(order_on(none, 1).empty());
  // More threads than AffineShare::kMaxRanges: the extra ones start by helping (range t % max).
  const std::size_t many = AffineShare::kMaxRanges + 6;
  AffineShare wide(many, many);
  const std::vector<std::size_t> order = order_on(wide, AffineShare::kMaxRanges + 1);
  ASSERT_EQ(order.size(), many);
  EXPECT_EQ(order.front(), many * 1 / AffineShare::kMaxRanges);  // the start of range 1
}

TEST(AffineShare, ATeamRunsEveryItemExactlyOnce) {
  testing::ThreadCountGuard guard;
  for (const std::size_t threads : {2u, 3u, 4u}) {
    for (const std::size_t count : {1u, 7u, 64u, 1000u}) {
      AffineShare share(count, threads);
      std::vector<std::atomic<int>> runs(count);
      std::vector<int> runner(count, -1);
      runtime::on_team(threads, [&](std::size_t thread, std::size_t, bool) {
        share.run(thread, [&](std::size_t item) {
          runs[item].fetch_add(1);
          runner[item] = static_cast<int>(thread);
        });
      });
      for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(runs[i].load(), 1) << "item " << i << " of " << count << ", " << threads;
        EXPECT_GE(runner[i], 0);
      }
    }
  }
}

// ReLU on a team: each thread's piece [n t / T, n (t+1) / T) (more than the parallel
// threshold of 2^16 elements, with n not a multiple of the thread count) gives the same values
// as one thread.
TEST(ElementwiseThreads, ReluOnTwoAndThreeThreadsEqualsOneThread) {
  testing::ThreadCountGuard guard;
  const std::size_t n = (std::size_t{1} << 17) + 13;
  std::mt19937 engine(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(n), e(n);
  for (float& v : x) v = normal(engine);
  for (float& v : e) v = normal(engine);
  for (const std::size_t threads : {1u, 2u, 3u}) {
    set_num_threads(threads);
    std::vector<float> y(n, -7.0f), dx(n, -7.0f);
    std::vector<std::uint8_t> passes(n, 7);
    relu_forward(x.data(), y.data(), passes.data(), n);
    relu_backward(passes.data(), e.data(), dx.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(y[i], x[i] > 0 ? x[i] : 0.0f) << i << " on " << threads << " threads";
      ASSERT_EQ(passes[i], x[i] > 0 ? 1 : 0) << i;
      ASSERT_EQ(dx[i], x[i] > 0 ? e[i] : 0.0f) << i;
    }
  }
}

}  // namespace
}  // namespace cnnkit::kernels
