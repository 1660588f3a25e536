#include "cnnkit/threading.hpp"

#include <omp.h>

#include <algorithm>
#include <thread>

// OpenBLAS's own setter; declared here so cnnkit builds against any cblas.h.
extern "C" void openblas_set_num_threads(int threads);

namespace cnnkit {

void set_num_threads(std::size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  omp_set_num_threads(static_cast<int>(threads));
  // cnnkit calls BLAS from inside its own parallel loops (one call per sample or tile):
  // a second, BLAS-owned pool would oversubscribe the cores.
  openblas_set_num_threads(1);
}

std::size_t num_threads() {
  return static_cast<std::size_t>(omp_get_max_threads());
}

}  // namespace cnnkit
