#include "runtime/blas_threads.hpp"

#include <omp.h>

#include <array>
#include <cctype>
#include <string>

// OpenBLAS's own functions, declared here so that cnnkit builds against any cblas.h.
extern "C" void openblas_set_num_threads(int threads);
extern "C" int openblas_get_parallel(void);
extern "C" char* openblas_get_corename(void);

namespace cnnkit::runtime {

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
  // Debian's names for the three builds (their folders /usr/lib/<arch>/openblas-<name>).
  switch (threading) {
    case BlasThreading::kSequential:
      return "serial";
    case BlasThreading::kOpenMP:
      return "openmp";
    case BlasThreading::kPthreads:
      break;
  }
  return "pthread";
}

void keep_blas_single_threaded() {
  // The OpenMP build's setter calls omp_set_num_threads(1) too (for the calling thread's
  // OpenMP environment): put cnnkit's count back.
  const int threads = omp_get_max_threads();
  openblas_set_num_threads(1);
  omp_set_num_threads(threads);
}

std::string generic_kernels_hint() {
  const char* name = openblas_get_corename();
  if (name == nullptr) return {};
  std::string core = name;
  for (char& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // The cores OpenBLAS falls back to when it does not know the CPU (none of them has AVX2).
  constexpr std::array<const char*, 5> kGeneric = {"prescott", "core2", "nehalem", "katmai",
                                                   "unknown"};
  bool generic = false;
  for (const char* generic_core : kGeneric) generic = generic || core == generic_core;
  if (!generic) return {};
  const char* wanted = nullptr;
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) {
    wanted = "SkylakeX";
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    wanted = "Haswell";
  }
#endif
  if (wanted == nullptr) return {};
  return std::string("OpenBLAS runs its generic \"") + name +
         "\" kernels on this CPU (convolutions outside the SIMD kernels' shapes and double "
         "networks run on them); "
         "set OPENBLAS_CORETYPE=" +
         wanted + " in the environment before starting for its " + wanted + " kernels";
}

std::unique_lock<std::mutex> lock_for_blas_call() {
  // The one mutex of the library: it guards a library that is not thread-safe, not cnnkit state.
  // The sequential build keeps one set of buffers; the OpenMP build indexes its buffers by
  // omp_get_thread_num(), which is 0 on every thread of cnnkit's own pool (none is an OpenMP
  // thread), so two of them calling at once share a buffer and corrupt each other's products.
  // Only the pthreads build may be called from several threads at once.
  static std::mutex shared_buffers;
  if (blas_threading() == BlasThreading::kPthreads) return {};
  return std::unique_lock<std::mutex>(shared_buffers);
}

}  // namespace cnnkit::runtime
