// The one knob for threads (cnnkit/threading.hpp): what "all cores" means.
#include "cnnkit/threading.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <cstddef>
#include <stdexcept>
#include <string>

#include "thread_count_guard.hpp"

namespace {

TEST(Threading, AllCoresMeansTheCoresThisProcessMayRunOn) {
  const cnnkit::testing::ThreadCountGuard guard;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  cnnkit::set_num_threads(0);
  EXPECT_EQ(cnnkit::num_threads(), static_cast<std::size_t>(CPU_COUNT(&allowed)));

  // As under `taskset -c N` or a container's cpuset of one core: one thread, not one per core
  // of the machine.
  int first = 0;
  while (!CPU_ISSET(first, &allowed)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  cnnkit::set_num_threads(0);
  const std::size_t threads = cnnkit::num_threads();
  ASSERT_EQ(sched_setaffinity(0, sizeof allowed, &allowed), 0);  // before anything can fail
  EXPECT_EQ(threads, 1u);
}

TEST(Threading, RefusesMoreThanTheCapAndKeepsTheCount) {
  const cnnkit::testing::ThreadCountGuard guard;
  cnnkit::set_num_threads(1);
  try {
    cnnkit::set_num_threads(100000);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()),
              "set_num_threads: expected 0 (all cores) or 1 to 1024 threads, got 100000");
  }
  EXPECT_THROW(cnnkit::set_num_threads(cnnkit::kMaxThreads + 1), std::invalid_argument);
  EXPECT_EQ(cnnkit::num_threads(), 1u);  // unchanged by the refused calls
}

}  // namespace
