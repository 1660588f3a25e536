#include "runtime/thread_pool.hpp"

#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "runtime/wait.hpp"

namespace cnnkit::runtime {

namespace {

// The thread count is process state like OpenMP's, which it replaces.
std::atomic<std::size_t>& team_size_setting() {
  static std::atomic<std::size_t> setting{
      static_cast<std::size_t>(std::max(1, omp_get_max_threads()))};
  return setting;
}

thread_local std::size_t t_thread = 0;
thread_local bool t_in_team = false;
// Whether this thread is the caller of a running team (in its work, or waiting for the workers
// at the end): its sleeps measure whether the workers ran meanwhile.
thread_local bool t_team_caller = false;
// This thread's number in the pool: a worker's index, 0 for the caller while it runs a team.
constexpr std::size_t kOutsidePool = ~std::size_t{0};
thread_local std::size_t t_pool_index = kOutsidePool;
// When this worker may next move itself off its caller's CPU (move_off).
thread_local std::chrono::steady_clock::time_point t_next_move{};
constexpr std::chrono::milliseconds kMoveInterval{10};

// Moves the calling thread off `cpu` to another CPU it may run on, then lets it run anywhere
// again: the scheduler sometimes places a woken worker on its caller's CPU while another CPU
// is free and keeps both there (each wakes the other where it sleeps), and then the team runs
// as one thread plus the hand-overs. Only when the process has a CPU per thread of the team, and
// at most every kMoveInterval (on a machine with more threads than free CPUs, sharing is
// the scheduler's call).
void move_off(int cpu, std::size_t threads) {
  const auto now = std::chrono::steady_clock::now();
  if (now < t_next_move) return;
  t_next_move = now + kMoveInterval;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  if (!CPU_ISSET(cpu, &allowed) || static_cast<std::size_t>(CPU_COUNT(&allowed)) < threads) return;
  cpu_set_t others = allowed;
  CPU_CLR(cpu, &others);
  if (sched_setaffinity(0, sizeof others, &others) != 0) return;
  sched_setaffinity(0, sizeof allowed, &allowed);
}

// A wait of the caller at least this long, during which no worker got half of it as CPU time,
// was a wait for a worker whose core was taken. Short waits say nothing: a worker woken from its
// sleep takes tens of microseconds to run, and the check itself costs a system call per worker.
constexpr std::chrono::microseconds kLateWait{500};

std::int64_t cpu_time_ns(clockid_t clock) {
  timespec time{};
  if (clock_gettime(clock, &time) != 0) return 0;
  return static_cast<std::int64_t>(time.tv_sec) * 1'000'000'000 + time.tv_nsec;
}

// Sleeps in the kernel until `word` no longer holds `old`.
void sleep_plainly(const std::atomic<std::uint32_t>& word, std::uint32_t old) {
  while (word.load(std::memory_order_acquire) == old) word.wait(old, std::memory_order_acquire);
}

// Marks the calling thread as thread `thread` of a team for the lifetime of the object.
class TeamMember {
 public:
  explicit TeamMember(std::size_t thread) {
    t_thread = thread;
    t_in_team = true;
  }
  TeamMember(const TeamMember&) = delete;
  TeamMember& operator=(const TeamMember&) = delete;
  ~TeamMember() {
    t_thread = 0;
    t_in_team = false;
  }
};

}  // namespace

std::chrono::microseconds spin_time() {
  const ThreadPool& pool = ThreadPool::instance();
  if (t_pool_index != kOutsidePool && pool.shares_cpu(t_pool_index)) {
    return std::chrono::microseconds{0};
  }
  return pool.in_busy_spell() ? kSpinTime : kQuietSpinTime;
}

void sleep_until_change(const std::atomic<std::uint32_t>& word, std::uint32_t old) {
  if (t_team_caller) {
    ThreadPool::instance().caller_sleep(word, old);
  } else {
    sleep_plainly(word, old);
  }
}

std::size_t team_size() {
  return team_size_setting().load(std::memory_order_relaxed);
}

void set_team_size(std::size_t threads) {
  team_size_setting().store(std::max<std::size_t>(1, threads), std::memory_order_relaxed);
  ThreadPool::instance().forget_late_workers();
}

std::size_t this_thread() {
  return t_thread;
}

bool in_team() {
  return t_in_team;
}

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool;
  return pool;
}

ThreadPool::~ThreadPool() {
  {
    const std::lock_guard<std::mutex> lock(busy_);
    const std::uint32_t number = (job_.load(std::memory_order_relaxed) >> kJobShift) + 1;
    job_.store(number << kJobShift, std::memory_order_release);  // no threads: close
    job_.notify_all();
  }
  for (std::thread& worker : workers_) worker.join();
}

bool ThreadPool::run_erased(std::size_t threads, const void* context, Invoke invoke,
                            Kind kind) noexcept {
  if (t_in_team) return false;
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  const TeamBackoff::Clock::time_point now = TeamBackoff::Clock::now();
  note_busy_spell(now);
  if (kind != Kind::kWhole && !backoff_.may_team(now)) return false;
  threads = std::min(threads, kMaxTeam);
  while (workers_.size() + 1 < threads) {
    // The job the worker starts from is the one before this call's: it must see this one.
    workers_.emplace_back([this, index = workers_.size() + 1,
                           seen = job_.load(std::memory_order_relaxed)] { worker(index, seen); });
    clockid_t clock{};
    // Without the worker's clock, the caller's own, which stands still while the caller sleeps:
    // the worker never counts as running, so a long wait for it counts as a late worker (the
    // safe side: one thread).
    if (pthread_getcpuclockid(workers_.back().native_handle(), &clock) != 0) {
      clock = CLOCK_THREAD_CPUTIME_ID;
    }
    worker_clocks_.push_back(clock);
    worker_cpu_ns_.push_back(0);
  }
  const bool shared = kind == Kind::kShared;
  context_ = context;
  invoke_ = invoke;
  threads_ = threads;
  finished_.store(0, std::memory_order_relaxed);
  const std::uint32_t number = (job_.load(std::memory_order_relaxed) >> kJobShift) + 1;
  members_.store(number << kJobShift, std::memory_order_relaxed);
  job_.store((number << kJobShift) | (shared ? kShared : 0) | static_cast<std::uint32_t>(threads),
             std::memory_order_release);
  t_team_caller = true;
  t_pool_index = 0;
  note_cpu(0);
  job_.notify_all();
  {
    const TeamMember member(0);
    invoke(context, 0, threads);
  }
  const std::uint32_t workers =
      shared ? members_.fetch_or(kClosed, std::memory_order_acq_rel) % kClosed
             : static_cast<std::uint32_t>(threads - 1);
  wait_until(finished_, workers);
  t_team_caller = false;
  t_pool_index = kOutsidePool;
  return true;
}

void ThreadPool::forget_late_workers() {
  if (t_in_team) return;  // the pool's caller holds busy_ (a setting changed inside a loop)
  const std::lock_guard<std::mutex> lock(busy_);
  backoff_ = TeamBackoff{};
  busy_spell_.store(false, std::memory_order_relaxed);
}

void ThreadPool::caller_sleep(const std::atomic<std::uint32_t>& word, std::uint32_t old) {
  const std::size_t workers = std::min(threads_ - 1, worker_clocks_.size());
  for (std::size_t w = 0; w < workers; ++w) worker_cpu_ns_[w] = cpu_time_ns(worker_clocks_[w]);
  const TeamBackoff::Clock::time_point start = TeamBackoff::Clock::now();
  sleep_plainly(word, old);
  const TeamBackoff::Clock::time_point end = TeamBackoff::Clock::now();
  const std::int64_t waited = std::chrono::nanoseconds(end - start).count();
  if (workers == 0 || end - start < kLateWait) return;
  // The most CPU time any worker had: a worker that computed through the wait had about all of
  // it (one that arrived early and sleeps, none).
  std::int64_t ran = 0;
  for (std::size_t w = 0; w < workers; ++w) {
    ran = std::max(ran, cpu_time_ns(worker_clocks_[w]) - worker_cpu_ns_[w]);
  }
  if (2 * ran < waited) {
    backoff_.worker_late(end);
    note_busy_spell(end);
  }
}

void ThreadPool::note_busy_spell(TeamBackoff::Clock::time_point now) {
  const bool busy = backoff_.in_busy_spell(now);
  if (busy_spell_.load(std::memory_order_relaxed) != busy) {
    busy_spell_.store(busy, std::memory_order_relaxed);
  }
}

// Whether a worker takes part in the shared job `job`: only while its caller is not done.
bool ThreadPool::join(std::uint32_t job) {
  const std::uint32_t number = job >> kJobShift;
  std::uint32_t members = members_.load(std::memory_order_acquire);
  do {
    if ((members >> kJobShift) != number || (members & kClosed) != 0) return false;
  } while (!members_.compare_exchange_weak(members, members + 1, std::memory_order_acq_rel,
                                           std::memory_order_acquire));
  return true;
}

int ThreadPool::note_cpu(std::size_t thread) {
  const int cpu = sched_getcpu();
  if (cpu_of_[thread].load(std::memory_order_relaxed) != cpu) {
    cpu_of_[thread].store(cpu, std::memory_order_relaxed);
  }
  return cpu;
}

bool ThreadPool::shares_cpu(std::size_t self) const {
  const int cpu = sched_getcpu();
  if (cpu < 0) return false;
  // A worker between jobs knows only its caller's CPU (the next job may be setting threads_).
  const std::size_t threads = self == 0 || t_in_team ? threads_ : 1;
  for (std::size_t thread = 0; thread < threads; ++thread) {
    if (thread != self && cpu_of_[thread].load(std::memory_order_relaxed) == cpu) return true;
  }
  return false;
}

void ThreadPool::worker(std::size_t index, std::uint32_t seen) {
  t_pool_index = index;
  for (;;) {
    wait_for_change(job_, seen);
    seen = job_.load(std::memory_order_acquire);
    const std::size_t threads = seen % kJobThreads;
    if (threads == 0) return;
    if (index >= threads) continue;                      // not in this team
    if ((seen & kShared) != 0 && !join(seen)) continue;  // came after the caller was done
    const int cpu = note_cpu(index);
    if (cpu >= 0 && cpu == cpu_of_[0].load(std::memory_order_relaxed)) {
      move_off(cpu, threads);
      note_cpu(index);
    }
    {
      const TeamMember member(index);
      invoke_(context_, index, threads_);
    }
    finished_.fetch_add(1, std::memory_order_release);
    finished_.notify_all();
  }
}

void ThreadPool::barrier() {
  note_cpu(t_thread);
  const std::uint32_t round = barrier_round_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
    arrived_.store(0, std::memory_order_relaxed);
    barrier_round_.fetch_add(1, std::memory_order_release);
    barrier_round_.notify_all();
    return;
  }
  wait_for_change(barrier_round_, round);
}

}  // namespace cnnkit::runtime
