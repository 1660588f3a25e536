#include "kernels/blas_threads.hpp"

#include <omp.h>

// OpenBLAS's own functions, declared here so that cnnkit builds against any cblas.h.
extern "C" void openblas_set_num_threads(int threads);
extern "C" int openblas_get_parallel(void);

namespace cnnkit::kernels {

BlasThreading blas_threading() {
  // 0: sequential build, 1: its own pthreads pool, 2: OpenMP (OpenBLAS's documented values).
  static const BlasThreading threading = [] {
    switch (openblas_get_parallel()) {
      case 0:
        return BlasThreading::kSequential;
      case 2:
        return BlasThreading::kOpenMP;
      default:
        return BlasThreading::kPthreads;
    }
  }();
  return threading;
}

const char* to_string(BlasThreading threading) {
  switch (threading) {
    case BlasThreading::kSequential:
      return "sequential";
    case BlasThreading::kOpenMP:
      return "openmp";
    case BlasThreading::kPthreads:
      break;
  }
  return "pthreads";
}

void keep_blas_single_threaded() {
  // The OpenMP build's setter calls omp_set_num_threads(1) too (for the calling thread's
  // OpenMP environment): put cnnkit's count back.
  const int threads = omp_get_max_threads();
  openblas_set_num_threads(1);
  omp_set_num_threads(threads);
}

std::unique_lock<std::mutex> lock_for_blas_call() {
  // The one mutex of the library: it guards a library that is not thread-safe, not cnnkit state.
  static std::mutex sequential_blas;
  if (blas_threading() != BlasThreading::kSequential) return {};
  return std::unique_lock<std::mutex>(sequential_blas);
}

}  // namespace cnnkit::kernels
