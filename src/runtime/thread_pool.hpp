// cnnkit's own team of threads, in place of OpenMP's parallel regions: its threads wait for work
// and at barriers as runtime/wait.hpp says (spin, then sleep), and spin only briefly once another
// process has taken a worker's core, where libgomp's threads spin for milliseconds whatever
// happens (OMP_WAIT_POLICY, read once when libgomp loads, before any of cnnkit's code can set it).
// On a machine where another process keeps a core busy, spinning threads made a training step
// wait a scheduler time slice at every loop.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/team_backoff.hpp"

namespace cnnkit::runtime {

// The threads a team may have (set_num_threads); at first the cores OpenMP would use
// (OMP_NUM_THREADS, else the CPU affinity). Setting it also makes the pool forget its late
// workers (TeamBackoff): the next team runs.
std::size_t team_size();
void set_team_size(std::size_t threads);

// This thread's number in the team it runs in: 0 on a thread that is in no team.
std::size_t this_thread();

// Whether this thread runs in a team now: a loop inside a team's work runs on its thread alone
// (no nested teams, as with OpenMP's default).
bool in_team();

class ThreadPool {
 public:
  static constexpr std::size_t kMaxTeam = 1024;  // cnnkit::kMaxThreads

  static ThreadPool& instance();

  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

  // work(thread, threads) on `threads` threads, thread 0 being the caller; returns when every
  // thread is done. Returns false, running nothing, when the pool is busy with another caller's
  // team, the caller is in a team itself, or the pool runs alone for now (TeamBackoff: a
  // worker was late, its core taken by another process): the caller then does the work alone,
  // so `work` must compute the same on one thread. An exception out of `work` ends the program,
  // as out of an OpenMP region.
  template <typename Work>
  bool run(std::size_t threads, const Work& work) {
    return run_erased(threads, &work, invoke_of<Work>(), Kind::kMayRunAlone);
  }

  // The same, but never alone for TeamBackoff's sake: for work whose results depend on the
  // thread count (partial sums per thread) or that sets state of each thread (MXCSR).
  template <typename Work>
  bool run_whole(std::size_t threads, const Work& work) {
    return run_erased(threads, &work, invoke_of<Work>(), Kind::kWhole);
  }

  // The same for work that leaves nothing to a thread that does not come (items shared with
  // AffineShare, no barrier): once the caller's work(0, threads) has returned, a worker that has
  // not started yet (its core taken by another process) stays out, and the caller waits only for
  // the workers that are running.
  template <typename Work>
  bool run_shared(std::size_t threads, const Work& work) {
    return run_erased(threads, &work, invoke_of<Work>(), Kind::kShared);
  }

  // Teams run again from now, and the next late worker starts a new backoff.
  void forget_late_workers();

  // Waits until every thread of the running team has arrived; only inside run()'s work.
  void barrier();

  // Whether another thread of the pool that the calling thread `self` (0: the caller) may wait
  // for last ran on the calling thread's CPU: spinning there only holds that thread up.
  bool shares_cpu(std::size_t self) const;

  // Sleeps until `word` no longer holds `old`, for the caller of a team measuring whether the
  // workers ran meanwhile (runtime/wait.hpp's sleep_until_change).
  void caller_sleep(const std::atomic<std::uint32_t>& word, std::uint32_t old);

  // Whether the pool is in a busy spell (TeamBackoff), as its caller last saw: any thread may ask.
  bool in_busy_spell() const { return busy_spell_.load(std::memory_order_relaxed); }

 private:
  using Invoke = void (*)(const void*, std::size_t, std::size_t);
  template <typename Work>
  static Invoke invoke_of() {
    return [](const void* context, std::size_t thread, std::size_t count) {
      (*static_cast<const Work*>(context))(thread, count);
    };
  }
  enum class Kind { kMayRunAlone, kWhole, kShared };
  bool run_erased(std::size_t threads, const void* context, Invoke invoke, Kind kind) noexcept;
  bool join(std::uint32_t job);
  int note_cpu(std::size_t thread);
  void worker(std::size_t index, std::uint32_t seen);
  void note_busy_spell(TeamBackoff::Clock::time_point now);

  // job_: a job's number (the bits from kJobShift up), whether it is shared (kShared) and its
  // thread count (0: the pool closes), in one word, so that a worker outside a team never reads
  // the fields below, which the next job may be writing; a worker in the team reads them after
  // job_ (acquire), and they stay until it reports to finished_.
  static constexpr std::uint32_t kJobThreads = 2048;  // above kMaxThreads
  static constexpr std::uint32_t kShared = 2048;
  static constexpr std::uint32_t kJobShift = 12;
  static_assert(kJobThreads > kMaxTeam);
  // members_ of a shared job: its number (from kJobShift up), kClosed once the caller is done,
  // and the workers that joined before that.
  static constexpr std::uint32_t kClosed = 2048;

  std::mutex busy_;                   // held by the caller whose team runs
  std::vector<std::thread> workers_;  // workers_[i] is thread i + 1 of a team
  // The CPU time clock of each worker, and where caller_sleep keeps their readings.
  std::vector<clockid_t> worker_clocks_;
  std::vector<std::int64_t> worker_cpu_ns_;
  TeamBackoff backoff_;
  std::atomic<bool> busy_spell_{false};  // backoff_.in_busy_spell(), for the waiting threads
  // The CPU each thread last ran on at a job's start or a barrier (-1: unknown), [0] the
  // caller's: written only when it changes.
  std::array<std::atomic<int>, kMaxTeam> cpu_of_{};
  const void* context_ = nullptr;
  Invoke invoke_ = nullptr;
  std::size_t threads_ = 1;
  alignas(64) std::atomic<std::uint32_t> job_{0};
  alignas(64) std::atomic<std::uint32_t> members_{0};
  alignas(64) std::atomic<std::uint32_t> finished_{0};  // workers done with the job
  alignas(64) std::atomic<std::uint32_t> arrived_{0};   // threads at the barrier
  alignas(64) std::atomic<std::uint32_t> barrier_round_{0};
};

}  // namespace cnnkit::runtime
