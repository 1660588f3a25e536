#include "runtime/thread_pool.hpp"

#include <omp.h>

#include <algorithm>

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

std::size_t team_size() {
  return team_size_setting().load(std::memory_order_relaxed);
}

void set_team_size(std::size_t threads) {
  team_size_setting().store(std::max<std::size_t>(1, threads), std::memory_order_relaxed);
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
                            bool shared) noexcept {
  if (t_in_team) return false;
  std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  threads = std::min(threads, kMaxTeam);
  while (workers_.size() + 1 < threads) {
    // The job the worker starts from is the one before this call's: it must see this one.
    workers_.emplace_back([this, index = workers_.size() + 1,
                           seen = job_.load(std::memory_order_relaxed)] { worker(index, seen); });
  }
  context_ = context;
  invoke_ = invoke;
  threads_ = threads;
  finished_.store(0, std::memory_order_relaxed);
  const std::uint32_t number = (job_.load(std::memory_order_relaxed) >> kJobShift) + 1;
  members_.store(number << kJobShift, std::memory_order_relaxed);
  job_.store((number << kJobShift) | (shared ? kShared : 0) | static_cast<std::uint32_t>(threads),
             std::memory_order_release);
  job_.notify_all();
  {
    const TeamMember member(0);
    invoke(context, 0, threads);
  }
  const std::uint32_t workers =
      shared ? members_.fetch_or(kClosed, std::memory_order_acq_rel) % kClosed
             : static_cast<std::uint32_t>(threads - 1);
  wait_until(finished_, workers);
  return true;
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

void ThreadPool::worker(std::size_t index, std::uint32_t seen) {
  for (;;) {
    wait_for_change(job_, seen);
    seen = job_.load(std::memory_order_acquire);
    const std::size_t threads = seen % kJobThreads;
    if (threads == 0) return;
    if (index >= threads) continue;                      // not in this team
    if ((seen & kShared) != 0 && !join(seen)) continue;  // came after the caller was done
    {
      const TeamMember member(index);
      invoke_(context_, index, threads_);
    }
    finished_.fetch_add(1, std::memory_order_release);
    finished_.notify_all();
  }
}

void ThreadPool::barrier() {
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
