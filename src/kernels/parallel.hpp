// When to start a team of threads, and a loop shared among one.
// libgomp builds a team for every parallel region it enters, also a team of one thread (an
// `if` clause that comes out false, or one thread set), and allocates that team on the heap
// each time; only teams of two or more are cached. Work that stays on one thread therefore does
// not enter a region at all: that keeps the steady-state training step free of allocations and
// saves the start-up of a region that could not run in parallel anyway.
#pragma once

#include <omp.h>

#include <cstddef>

namespace cnnkit::kernels {

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

}  // namespace cnnkit::kernels
