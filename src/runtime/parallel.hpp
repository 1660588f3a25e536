// When to start a team of threads (runtime/thread_pool.hpp), and a loop shared among one.
// Work that stays on one thread does not wake the pool at all: that saves the hand-over of
// work that could not run in parallel anyway.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>

#include "runtime/thread_pool.hpp"

namespace cnnkit::runtime {

// Where part `part` of `n` items cut into `parts` near-equal contiguous parts begins (part
// `parts` ends at n). AffineShare, the element-wise loops and the convolution drivers all cut
// this way, so the same samples fall to the same thread in every layer.
inline std::size_t share(std::size_t n, std::size_t parts, std::size_t part) {
  return n * part / parts;
}

// Whether work of this size goes to a team: more than one thread set, and enough work.
inline bool worth_a_team(bool enough_work) {
  return enough_work && team_size() > 1 && !in_team();
}

// The items [first, last) of `count` that thread `thread` of `threads` takes in a static loop:
// q or q + 1 contiguous items, the first count % threads threads one more (OpenMP's
// schedule(static), which the loops used before; the im2col path's partial sums per thread depend
// on it).
struct StaticRange {
  std::size_t first, last;
};
inline StaticRange static_range(std::size_t count, std::size_t threads, std::size_t thread) {
  std::size_t q = count / threads, extra = count % threads;
  if (thread < extra) {
    ++q;
    extra = 0;
  }
  const std::size_t first = q * thread + extra;
  return {first, first + q};
}

// body(i) for every i in [0, count), each i on exactly one thread: static_range's items on
// thread this_thread(), always the same, for a body whose results depend on the thread it runs
// on (partial sums per thread), so on the whole team even while the pool runs alone
// (ThreadPool::run_whole); in order on the calling thread when not worth_a_team().
template <typename Body>
void parallel_for_static(std::size_t count, bool enough_work, const Body& body) {
  if (count > 1 && worth_a_team(enough_work)) {
    // Threads past count would get no item: the first min(count, threads) get the same items
    // as in a team of all threads.
    const std::size_t threads = count < team_size() ? count : team_size();
    const auto loop = [&](std::size_t thread, std::size_t team) {
      const StaticRange range = static_range(count, team, thread);
      for (std::size_t i = range.first; i < range.last; ++i) body(i);
    };
    if (ThreadPool::instance().run_whole(threads, loop)) return;
  }
  for (std::size_t i = 0; i < count; ++i) body(i);
}

namespace detail {
template <typename Work>
void on_team_or_alone(std::size_t threads, const Work& work, bool whole) {
  if (threads > 1 && !in_team()) {
    const auto member = [&](std::size_t thread, std::size_t team) { work(thread, team, true); };
    ThreadPool& pool = ThreadPool::instance();
    if (whole ? pool.run_whole(threads, member) : pool.run(threads, member)) return;
  }
  work(std::size_t{0}, std::size_t{1}, false);
}
}  // namespace detail

// work(thread, threads, true) on each thread of a team of `threads`, or work(0, 1, false) on
// the calling thread alone (one thread asked for, the pool busy with another caller's team, or
// running alone for now: ThreadPool::run); `work` may call barrier() only when its third
// argument is true, and must compute the same alone as in a team.
template <typename Work>
void on_team(std::size_t threads, const Work& work) {
  detail::on_team_or_alone(threads, work, false);
}

// The same on every thread of the team even while the pool runs alone (ThreadPool::run_whole):
// for work that sets state of each thread.
template <typename Work>
void on_whole_team(std::size_t threads, const Work& work) {
  detail::on_team_or_alone(threads, work, true);
}

// Waits for every thread of the team (inside on_team's work with its third argument true).
inline void barrier() {
  ThreadPool::instance().barrier();
}

// Items [0, count) shared among the threads of a team with affinity: [0, count) is cut into one
// contiguous range per thread (range t = [share(count, ranges, t), share(count, ranges, t + 1)));
// each thread takes the items of its own range in order, then helps with what is left of the others
// (from their front, the next range first). So the same samples go to the same core call after
// call and layer after layer: the element-wise loops and the pooling split the batch into the
// same halves, and each core finds in its own L2 cache what it wrote in the layer before (with
// samples taken one at a time by whichever thread is free, a layer's output cache lines move
// between the cores). Yet a core that the machine takes away for a while still leaves
// its remaining items to the others. Which thread runs an item never changes what it computes.
//
// Construct it before the team (one object shared by the team), call run() on every thread of
// the team; run() has no barrier of its own.
class AffineShare {
 public:
  static constexpr std::size_t kMaxRanges = 64;  // more threads than this start by helping

  AffineShare(std::size_t count, std::size_t threads)
      : ranges_count_(threads < 1 ? 1 : (threads > kMaxRanges ? kMaxRanges : threads)) {
    for (std::size_t t = 0; t < ranges_count_; ++t) {
      ranges_[t].next.store(share(count, ranges_count_, t), std::memory_order_relaxed);
      ranges_[t].end = share(count, ranges_count_, t + 1);
    }
  }

  template <typename Body>
  void run(std::size_t thread, const Body& body) {
    for (std::size_t i = 0; i < ranges_count_; ++i) {
      Range& range = ranges_[(thread + i) % ranges_count_];
      // Relaxed is enough: the claim only has to be unique; the results are published by the
      // team's barriers.
      for (std::size_t item = range.next.fetch_add(1, std::memory_order_relaxed); item < range.end;
           item = range.next.fetch_add(1, std::memory_order_relaxed)) {
        body(item);
      }
    }
  }

 private:
  struct alignas(64) Range {  // one cache line each: the owners do not contend
    std::atomic<std::size_t> next{0};
    std::size_t end = 0;
  };
  std::array<Range, kMaxRanges> ranges_{};
  std::size_t ranges_count_;
};

// body(i) for every i in [0, count), each i on exactly one thread, shared with AffineShare: each
// thread takes its own contiguous range first, then what is left of the others', so a thread
// that starts late or loses its core for a while holds up nobody (nor is it waited for once the
// caller has run out of items: ThreadPool::run_shared); in order on the calling thread
// when not worth_a_team(). Which thread runs an item depends on timing: the body's results must
// not (parallel_for_static for those that do).
template <typename Body>
void parallel_for(std::size_t count, bool enough_work, const Body& body) {
  if (count > 1 && worth_a_team(enough_work)) {
    const std::size_t threads = count < team_size() ? count : team_size();
    AffineShare items(count, threads);
    const auto loop = [&](std::size_t thread, std::size_t) { items.run(thread, body); };
    if (ThreadPool::instance().run_shared(threads, loop)) return;
  }
  for (std::size_t i = 0; i < count; ++i) body(i);
}

}  // namespace cnnkit::runtime
