// The Adam kernel (kernels/adam.hpp) against its plain loop, bit for bit: at the widest vector
// width the CPU has, on 1 and 2 threads, for sizes around the vector widths and past the size at
// which it splits across threads; and one element against the formula by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <vector>

#include "cnnkit/threading.hpp"
#include "kernels/adam.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::kernels {
namespace {

template <typename T>
struct State {
  std::vector<T> w, v, r, g;
};

template <typename T>
State<T> random_state(std::size_t n, unsigned seed) {
  std::mt19937 engine(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  State<T> s{std::vector<T>(n), std::vector<T>(n), std::vector<T>(n), std::vector<T>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    s.w[i] = static_cast<T>(normal(engine));
    s.v[i] = static_cast<T>(0.1 * normal(engine));
    s.r[i] = static_cast<T>(0.01 * std::fabs(normal(engine)));
    // Some exact zeros: a zero gradient on a zero moment must leave the weight alone.
    s.g[i] = i % 7 == 0 ? T(0) : static_cast<T>(normal(engine));
    if (i % 11 == 0) s.v[i] = s.r[i] = T(0);
  }
  return s;
}

template <typename T>
void check_against_reference() {
  const testing::ThreadCountGuard guard;
  const AdamStep<T> step{T(0.9),
                         T(0.999),
                         T(1e-3),
                         T(1e-8),
                         T(1) / (T(1) - std::pow(T(0.9), T(3))),
                         T(1) / (T(1) - std::pow(T(0.999), T(3)))};
  for (const std::size_t n : {0u, 1u, 7u, 15u, 16u, 17u, 33u, 1000u, 40000u}) {
    for (const std::size_t threads : {1u, 2u}) {
      SCOPED_TRACE("n " + std::to_string(n) + ", threads " + std::to_string(threads));
      set_num_threads(threads);
      State<T> fast = random_state<T>(n, 5), plain = random_state<T>(n, 5);
      adam_update(fast.w.data(), fast.v.data(), fast.r.data(), fast.g.data(), n, step);
      adam_update_reference(plain.w.data(), plain.v.data(), plain.r.data(), plain.g.data(), n,
                            step);
      EXPECT_EQ(fast.w, plain.w);
      EXPECT_EQ(fast.v, plain.v);
      EXPECT_EQ(fast.r, plain.r);
      const State<T> before = random_state<T>(n, 5);
      for (std::size_t i = 0; i < n; i += 11) {
        if (before.g[i] == T(0)) {
          EXPECT_EQ(fast.w[i], before.w[i]) << "zero gradient moved w";
        }
      }
    }
  }
}

TEST(AdamKernel, WidestVectorsAndThreadsEqualThePlainLoop) {
  check_against_reference<float>();
  check_against_reference<double>();
}

// First step (k = 1) from zero moments with g = 2: v = 0.2, r = 0.004, v^ = 2, r^ = 4,
// w = 1 - 0.1 * 2 / (2 + 1e-8).
TEST(AdamKernel, FirstStepByHand) {
  const AdamStep<double> step{0.9, 0.999, 0.1, 1e-8, 1.0 / (1.0 - 0.9), 1.0 / (1.0 - 0.999)};
  double w = 1.0, v = 0.0, r = 0.0;
  const double g = 2.0;
  adam_update(&w, &v, &r, &g, 1, step);
  EXPECT_NEAR(v, 0.2, 1e-15);
  EXPECT_NEAR(r, 0.004, 1e-15);
  EXPECT_NEAR(w, 1.0 - 0.1 * 2.0 / (2.0 + 1e-8), 1e-12);
}

}  // namespace
}  // namespace cnnkit::kernels
