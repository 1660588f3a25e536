// The convolution kernels' promise on threads: a given geometry gives the same bits on 1 to 4
// threads, forward and backward alike.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "cnnkit/threading.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::testing {

// `run()` returns a KernelResults (conv_kernel_test_data.hpp) of both passes; it runs on one
// thread, then on 2, 3 and 4, and every result must be the one-thread result bit for bit.
template <typename Run>
void expect_same_bits_on_one_to_four_threads(const Run& run) {
  const ThreadCountGuard guard;
  set_num_threads(1);
  const auto one = run();
  for (const std::size_t threads : {2, 3, 4}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    set_num_threads(threads);
    const auto more = run();
    EXPECT_EQ(one.output, more.output);
    EXPECT_EQ(one.input_error, more.input_error);
    EXPECT_EQ(one.weight_gradient, more.weight_gradient);
    EXPECT_EQ(one.bias_gradient, more.bias_gradient);
  }
}

}  // namespace cnnkit::testing
