// When to start a team of threads, and a loop shared among one.
// libgomp builds a team for every parallel region it enters, also a team of one thread (an
// `if` clause that comes out false, or one thread set), and allocates that team on the heap
// each time; only teams of two or more are cached. Work that stays on one thread therefore does
// not enter a region at all: that keeps the steady-state training step free of allocations and
// saves the start-up of a region that could not run in parallel anyway.
#pragma once

#include <omp.h>

#include <array>
#include <atomic>
#include <cstddef>

namespace cnnkit::runtime {

// Where part `part` of `n` items cut into `parts` near-equal contiguous parts begins (part
// `parts` ends at n). AffineShare, the element-wise loops and the convolution drivers all cut
// this way, so the same samples fall to the same thread in every layer.
inline std::size_t share(std::size_t n, std::size_t parts, std::size_t part) {
  return n * part / parts;
}

// Whether work of this size goes to a team: more than one thread set, and enough work.
inline bool worth_a_team(bool enough_work) {
  return enough_work && omp_get_max_threads() > 1;
}

// body(i) for every i in [0, count): shared statically among a team when worth_a_team(), else
// in order on the calling thread. Each i runs on exactly one thread, so a body that writes only
// its own outputs gives the same results on any number of threads.
template <typename Body>
void parallel_for(std::size_t count, bool enough_work, const Body& body) {
  if (count > 1 && worth_a_team(enough_work)) {
    const auto n = static_cast<std::ptrdiff_t>(count);
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t i = 0; i < n; ++i) body(static_cast<std::size_t>(i));
    return;
  }
  for (std::size_t i = 0; i < count; ++i) body(i);
}

// work(thread, threads, true) on each thread of a team of `threads`, or work(0, 1, false) on
// the calling thread when there is one; `work` may use orphaned worksharing (omp for, barrier)
// only when its third argument is true (libgomp allocates for a dynamic loop outside a team).
template <typename Work>
void on_team(std::size_t threads, const Work& work) {
  if (threads <= 1) {
    work(std::size_t{0}, std::size_t{1}, false);
    return;
  }
#pragma omp parallel num_threads(static_cast <int>(threads))
  work(static_cast<std::size_t>(omp_get_thread_num()),
       static_cast<std::size_t>(omp_get_num_threads()), true);
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

}  // namespace cnnkit::runtime
