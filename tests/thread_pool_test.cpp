// cnnkit's own team of threads (runtime/thread_pool.hpp, runtime/parallel.hpp): a static loop
// gives each thread the items OpenMP's schedule(static) gave it, the barrier holds every thread
// until all arrive, a team inside a team and a second caller at the same time run alone, and a
// waiter that went to sleep wakes when the word changes.
#include "runtime/thread_pool.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "cnnkit/threading.hpp"
#include "runtime/parallel.hpp"
#include "runtime/wait.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit::runtime {
namespace {

// The thread OpenMP's schedule(static) gives each of `count` items on a team of `threads`.
std::vector<std::size_t> openmp_static_threads(std::size_t count, int threads) {
  std::vector<std::size_t> runner(count, 99);
  const auto n = static_cast<std::ptrdiff_t>(count);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    runner[static_cast<std::size_t>(i)] = static_cast<std::size_t>(omp_get_thread_num());
  }
  return runner;
}

TEST(ThreadPool, StaticLoopGivesEachThreadOpenmpsItems) {
  testing::ThreadCountGuard guard;
  for (const std::size_t threads : {2u, 3u, 4u}) {
    set_num_threads(threads);
    for (const std::size_t count : {2u, 3u, 5u, 7u, 64u, 101u}) {
      std::vector<std::size_t> runner(count, 99);
      std::vector<std::atomic<int>> runs(count);
      parallel_for_static(count, true, [&](std::size_t i) {
        runs[i].fetch_add(1);
        runner[i] = this_thread();
      });
      const std::vector<std::size_t> expected =
          openmp_static_threads(count, static_cast<int>(threads));
      for (std::size_t i = 0; i < count; ++i) {
        EXPECT_EQ(runs[i].load(), 1) << "item " << i << " of " << count << ", " << threads;
        EXPECT_EQ(runner[i], expected[i]) << "item " << i << " of " << count << ", " << threads;
      }
    }
  }
}

TEST(ThreadPool, SharedLoopRunsEveryItemOnceOnATeamThread) {
  testing::ThreadCountGuard guard;
  set_num_threads(3);
  for (const std::size_t count : {2u, 3u, 7u, 1000u}) {
    std::vector<std::atomic<int>> runs(count);
    std::vector<std::size_t> runner(count, 99);
    parallel_for(count, true, [&](std::size_t i) {
      runs[i].fetch_add(1);
      runner[i] = this_thread();
    });
    for (std::size_t i = 0; i < count; ++i) {
      EXPECT_EQ(runs[i].load(), 1) << "item " << i << " of " << count;
      EXPECT_LT(runner[i], 3u) << "item " << i << " of " << count;
    }
  }
}

// A shared job's caller returns once its own work is done and the workers that joined are done:
// no worker may run the job after that (it would use the caller's dead stack).
TEST(ThreadPool, SharedJobNeverRunsAfterItsCallerReturned) {
  std::atomic<bool> returned{false};
  std::atomic<std::size_t> late{0}, runs{0};
  for (int repeat = 0; repeat < 3000; ++repeat) {
    returned.store(false);
    const bool ran = ThreadPool::instance().run_shared(2, [&](std::size_t, std::size_t) {
      runs.fetch_add(1);
      for (int spin = 0; spin < 50; ++spin) pause();
      late.fetch_add(returned.load() ? 1 : 0);
    });
    returned.store(true);
    ASSERT_TRUE(ran);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let a late worker show itself
  EXPECT_EQ(late.load(), 0u);
  EXPECT_GE(runs.load(), 3000u);  // the callers' runs, and the workers' that joined
}

// Each round every thread writes its slot, waits at the barrier, checks that every slot holds
// the round, then waits again before the next round overwrites them.
TEST(ThreadPool, BarrierHoldsEveryThreadUntilAllArrive) {
  constexpr std::size_t kThreads = 3, kRounds = 2000;
  std::vector<std::atomic<std::size_t>> slots(kThreads);
  std::atomic<std::size_t> mismatches{0}, teams{0};
  on_team(kThreads, [&](std::size_t thread, std::size_t threads, bool in_team) {
    if (!in_team) return;
    teams.fetch_add(threads == kThreads ? 1 : 0);
    for (std::size_t round = 1; round <= kRounds; ++round) {
      // A thread that is slow now and then: the others reach the barrier first.
      if ((round + thread) % 97 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      slots[thread].store(round);
      barrier();
      for (const auto& slot : slots) mismatches.fetch_add(slot.load() == round ? 0 : 1);
      barrier();
    }
  });
  EXPECT_EQ(teams.load(), kThreads);
  EXPECT_EQ(mismatches.load(), 0u);
}

TEST(ThreadPool, TeamInsideATeamRunsOnItsThreadAlone) {
  std::atomic<std::size_t> inner_teams{0}, inner_alone{0};
  on_team(2, [&](std::size_t, std::size_t, bool) {
    on_team(2, [&](std::size_t thread, std::size_t threads, bool in_team) {
      (in_team ? inner_teams : inner_alone).fetch_add(thread == 0 && threads == 1 ? 1 : 100);
    });
  });
  EXPECT_EQ(inner_teams.load(), 0u);
  EXPECT_EQ(inner_alone.load(), 2u);
}

// Two callers at once: one gets the team, the other runs its loop alone; both loops complete.
TEST(ThreadPool, TwoCallersAtOnceBothComplete) {
  testing::ThreadCountGuard guard;
  set_num_threads(2);
  constexpr std::size_t kCount = 64, kRepeats = 300;
  std::vector<std::vector<int>> sums(2, std::vector<int>(kCount, 0));
  const auto caller = [&](std::size_t c) {
    for (std::size_t r = 0; r < kRepeats; ++r) {
      parallel_for(kCount, true, [&](std::size_t i) { sums[c][i] += 1; });
    }
  };
  std::thread first(caller, 0), second(caller, 1);
  first.join();
  second.join();
  for (const auto& caller_sums : sums) {
    for (const int sum : caller_sums) EXPECT_EQ(sum, static_cast<int>(kRepeats));
  }
}

// The waiter spins, then sleeps in the kernel: the change made long after must still wake it.
TEST(Wait, SleepingWaiterWakesOnTheChange) {
  std::atomic<std::uint32_t> word{0};
  std::atomic<bool> woke{false};
  std::thread waiter([&] {
    wait_until(word, 2);
    woke.store(true);
  });
  word.store(1);
  word.notify_all();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(woke.load());  // 1 is not the target
  word.store(2);
  word.notify_all();
  waiter.join();
  EXPECT_TRUE(woke.load());
}

}  // namespace
}  // namespace cnnkit::runtime
