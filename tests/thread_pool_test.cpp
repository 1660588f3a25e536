// cnnkit's own team of threads (runtime/thread_pool.hpp, runtime/parallel.hpp): a static loop
// gives each thread the items OpenMP's schedule(static) gave it, the barrier holds every thread
// until all arrive, a team inside a team and a second caller at the same time run alone, a
// worker that is late neither changes the results nor holds up the loops after it, and a waiter
// that went to sleep wakes when the word changes.
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
// no worker may run the job after that (it would use the caller's dead stack). (A job the pool
// declines, while it runs alone after a late worker, is not counted.)
TEST(ThreadPool, SharedJobNeverRunsAfterItsCallerReturned) {
  testing::ThreadCountGuard guard;
  set_num_threads(2);  // and the pool forgets any late worker before
  std::atomic<bool> returned{false};
  std::atomic<std::size_t> late{0}, runs{0};
  std::size_t jobs = 0;
  for (int repeat = 0; repeat < 3000; ++repeat) {
    returned.store(false);
    const bool ran = ThreadPool::instance().run_shared(2, [&](std::size_t, std::size_t) {
      runs.fetch_add(1);
      for (int spin = 0; spin < 50; ++spin) pause();
      late.fetch_add(returned.load() ? 1 : 0);
    });
    returned.store(true);
    jobs += ran ? 1 : 0;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let a late worker show itself
  EXPECT_EQ(late.load(), 0u);
  EXPECT_GT(jobs, 0u);
  EXPECT_GE(runs.load(), jobs);  // the callers' runs, and the workers' that joined
}

// Each round every thread writes its slot, waits at the barrier, checks that every slot holds
// the round, then waits again before the next round overwrites them.
TEST(ThreadPool, BarrierHoldsEveryThreadUntilAllArrive) {
  constexpr std::size_t kThreads = 3, kRounds = 2000;
  std::vector<std::atomic<std::size_t>> slots(kThreads);
  std::atomic<std::size_t> mismatches{0}, teams{0};
  // The whole team: a barrier's wait for a sleeping thread can count as a late worker.
  on_whole_team(kThreads, [&](std::size_t thread, std::size_t threads, bool in_team) {
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
  on_whole_team(2, [&](std::size_t, std::size_t, bool) {
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

// Sums of fixed groups of items, each written to its own slot: what the elementwise and
// convolution loops do. Items of thread 1 sleep first when `late_worker` (a thread that loses its
// core mid-item); records which thread ran each item.
std::vector<float> group_sums(bool late_worker, std::vector<std::size_t>& runner) {
  constexpr std::size_t kGroups = 48, kPerGroup = 1000;
  std::vector<float> sums(kGroups, 0.0f);
  runner.assign(kGroups, 99);
  parallel_for(kGroups, true, [&](std::size_t group) {
    if (late_worker && this_thread() == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    float sum = 0.0f;
    for (std::size_t i = 0; i < kPerGroup; ++i) {
      sum += 1.0f / static_cast<float>(group * kPerGroup + i + 1);
    }
    sums[group] = sum;
    runner[group] = this_thread();
  });
  return sums;
}

// Whether a team of two runs now (rather than its caller alone).
bool team_runs() {
  std::atomic<bool> team{false};
  on_team(2, [&](std::size_t, std::size_t threads, bool in_team) {
    if (in_team && threads == 2) team.store(true);
  });
  return team.load();
}

// A worker that does not run while its caller waits for it (here it sleeps; on a busy machine
// another process has its core) makes the pool run its loops on the caller alone for a while:
// every item then runs on thread 0, with the same bits; the team comes back later.
TEST(ThreadPool, LateWorkerNeitherChangesResultsNorHoldsUpLaterLoops) {
  testing::ThreadCountGuard guard;
  set_num_threads(2);
  std::vector<std::size_t> runner;
  const std::vector<float> alone = [&] {
    set_num_threads(1);
    std::vector<float> sums = group_sums(false, runner);
    set_num_threads(2);
    return sums;
  }();
  // Late mid-item: every group still runs once, and the sums are the same bits.
  EXPECT_EQ(group_sums(true, runner), alone);
  for (const std::size_t thread : runner) EXPECT_LT(thread, 2u);
  // A worker that arrives at the barrier long after its caller: late. Eight times in a row (a
  // whole team runs even while the pool runs alone): the first starts nothing, the next ones
  // send the pool's loops to the caller alone for 20, 40, ... ms up to TeamBackoff::kMaxBackoff,
  // long enough for the checks below even on a loaded machine.
  for (int late = 0; late < 8; ++late) {
    on_whole_team(2, [](std::size_t thread, std::size_t, bool in_team) {
      if (!in_team) return;
      if (thread == 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      barrier();
    });
  }
  EXPECT_FALSE(team_runs());
  EXPECT_EQ(group_sums(false, runner), alone);
  for (const std::size_t thread : runner) EXPECT_EQ(thread, 0u);
  // A team of the whole pool still runs on both threads.
  std::atomic<std::size_t> whole{0};
  on_whole_team(2, [&](std::size_t, std::size_t threads, bool in_team) {
    whole.fetch_add(in_team && threads == 2 ? 1 : 0);
  });
  EXPECT_EQ(whole.load(), 2u);
  // After the backoff (at most TeamBackoff::kMaxBackoff) the team runs again.
  // (The try that finds the team back may find its worker late again: not asked again.)
  const auto give_up = std::chrono::steady_clock::now() + 2 * TeamBackoff::kMaxBackoff;
  bool back = team_runs();
  while (!back && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    back = team_runs();
  }
  EXPECT_TRUE(back);
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
