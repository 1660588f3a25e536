// One knob for the number of threads: cnnkit parallelises its own loops (OpenMP) and keeps
// the linked BLAS single-threaded, so two thread pools never fight over the cores.
#pragma once

#include <cstddef>
#include <string>

namespace cnnkit {

// Threads used by every kernel from now on; 0 means all cores this process may run on (the
// machine's, or fewer under taskset or a container's cpuset).
void set_num_threads(std::size_t threads);

// Threads the kernels currently use.
std::size_t num_threads();

// A one-line hint when the linked OpenBLAS runs its generic kernels on this CPU (it did not
// recognise the CPU): the environment variable that fixes it; empty when all is well.
std::string blas_speed_hint();

}  // namespace cnnkit
