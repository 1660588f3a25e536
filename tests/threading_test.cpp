// The one knob for threads (cnnkit/threading.hpp): what "all cores" means.
#include "cnnkit/threading.hpp"

#include <gtest/gtest.h>
#include <sched.h>

#include <cstddef>

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

}  // namespace
