// set_flush_denormals: denormal results become zero on the calling thread and on cnnkit's
// pool's threads while it is on, and stay denormal once it is off again.
#include "cnnkit/float_environment.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "cnnkit/threading.hpp"
#include "runtime/parallel.hpp"
#include "thread_count_guard.hpp"

namespace {

// 1e-30 * 1e-10 = 1e-40, below the smallest normal float (1.18e-38): a denormal unless flushed.
// volatile keeps the compiler from folding it at compile time.
float denormal_product() {
  volatile float tiny = 1e-30f;
  volatile float scale = 1e-10f;
  return tiny * scale;
}

// A float's bits: with DAZ on, the checking thread itself would read a denormal as zero.
std::uint32_t bits(float value) {
  return std::bit_cast<std::uint32_t>(value);
}

// The product as each thread of a team of `threads` of cnnkit's pool computes it (the whole
// team, even while the pool runs other loops alone after a late worker).
std::vector<float> products_on_threads(std::size_t threads) {
  std::vector<float> products(threads, -1.0f);
  cnnkit::runtime::on_whole_team(threads, [&](std::size_t thread, std::size_t, bool) {
    products[thread] = denormal_product();
  });
  return products;
}

TEST(FlushDenormals, OnTheCallingThreadAndOnThePoolsThreads) {
  const cnnkit::testing::ThreadCountGuard guard;
  cnnkit::set_num_threads(3);
  ASSERT_GT(denormal_product(), 0.0f);  // the default: gradual underflow
  ASSERT_LT(denormal_product(), std::numeric_limits<float>::min());
  (void)products_on_threads(3);  // the pool exists before the switch, as in a running program

  ASSERT_TRUE(cnnkit::set_flush_denormals(true));
  EXPECT_TRUE(cnnkit::flush_denormals());
  EXPECT_EQ(bits(denormal_product()), 0u);
  for (const float product : products_on_threads(3)) EXPECT_EQ(bits(product), 0u);

  EXPECT_TRUE(cnnkit::set_flush_denormals(false));
  EXPECT_FALSE(cnnkit::flush_denormals());
  EXPECT_NE(bits(denormal_product()), 0u);
  for (const float product : products_on_threads(3)) EXPECT_NE(bits(product), 0u);
}

}  // namespace
