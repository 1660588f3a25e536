#include "cnnkit/threading.hpp"

#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/blas_threads.hpp"
#include "runtime/thread_pool.hpp"

namespace cnnkit {

namespace {

// The cores this process may run on: its CPU affinity (taskset, a container's cpuset), which
// can be far fewer than the machine has; a thread per core of the machine would then share a
// few cores between many threads.
std::size_t cores_available() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) > 0) {
    return static_cast<std::size_t>(CPU_COUNT(&allowed));
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

void set_num_threads(std::size_t threads) {
  if (threads > kMaxThreads) {
    throw std::invalid_argument("set_num_threads: expected 0 (all cores) or 1 to " +
                                std::to_string(kMaxThreads) + " threads, got " +
                                std::to_string(threads));
  }
  if (threads == 0) threads = cores_available();
  // cnnkit calls BLAS from inside its own parallel loops (one call per block of rows): a second,
  // BLAS-owned pool would oversubscribe the cores. (First: with OpenMP OpenBLAS the BLAS setter
  // sets OpenMP's count as well; runtime/blas_threads.hpp.)
  runtime::keep_blas_single_threaded();
  omp_set_num_threads(static_cast<int>(threads));  // for an OpenMP BLAS, kept to one thread
  runtime::set_team_size(threads);
}

std::size_t num_threads() {
  return runtime::team_size();
}

std::string blas_speed_hint() {
  return runtime::generic_kernels_hint();
}

}  // namespace cnnkit
