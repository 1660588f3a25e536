#include "cnnkit/threading.hpp"

#include <omp.h>

#include <algorithm>
#include <thread>

#include "kernels/blas_threads.hpp"

namespace cnnkit {

void set_num_threads(std::size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  // cnnkit calls BLAS from inside its own parallel loops (one call per block of rows): a second,
  // BLAS-owned pool would oversubscribe the cores. (First: with OpenMP OpenBLAS the BLAS setter
  // sets OpenMP's count as well; kernels/blas_threads.hpp.)
  kernels::keep_blas_single_threaded();
  omp_set_num_threads(static_cast<int>(threads));
}

std::size_t num_threads() {
  return static_cast<std::size_t>(omp_get_max_threads());
}

std::string blas_speed_hint() {
  return kernels::generic_kernels_hint();
}

}  // namespace cnnkit
