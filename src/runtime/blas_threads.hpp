// How cnnkit lives with the OpenBLAS it is linked against. Debian ships three builds of the same
// library behind one name (the alternatives libopenblas0-pthread, -openmp and -serial), and each
// needs something else so that cnnkit's OpenMP loops stay the only pool of threads and its
// concurrent BLAS calls (one per block of rows, threading.hpp) stay correct:
//  * pthreads (the default): an own pool of threads, kept at one thread;
//  * OpenMP: shares libgomp with cnnkit, and its openblas_set_num_threads(n) also sets OpenMP's
//    thread count to n: cnnkit's count is put back after it (else every cnnkit loop would run
//    on one thread);
//  * sequential: not safe for calls from several threads at once (Debian 12's 0.3.21 gave wrong
//    products from two threads): its calls are serialised.
#pragma once

#include <mutex>
#include <string>

namespace cnnkit::runtime {

enum class BlasThreading { kSequential, kPthreads, kOpenMP };

// What the loaded library was built with (openblas_get_parallel).
BlasThreading blas_threading();
const char* to_string(BlasThreading threading);

// BLAS computes on the calling thread only; OpenMP's thread count is left as it was.
void keep_blas_single_threaded();

// What to tell the user when OpenBLAS runs its generic kernels on a CPU with AVX2 or AVX-512
// (OpenBLAS 0.3.21 does not recognise some recent CPUs and falls back to "Prescott", kernels
// without AVX): the OPENBLAS_CORETYPE to set. Empty otherwise.
std::string generic_kernels_hint();

// Held around every BLAS call: locks one mutex for a sequential or OpenMP OpenBLAS (buffers
// shared by the callers' threads), nothing for the pthreads build.
std::unique_lock<std::mutex> lock_for_blas_call();

}  // namespace cnnkit::runtime
