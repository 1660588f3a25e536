// One knob for the number of threads: cnnkit parallelises its own loops (its own pool) and keeps
// the linked BLAS single-threaded, so two thread pools never fight over the cores.
#pragma once

#include <cstddef>
#include <string>

namespace cnnkit {

// The most threads set_num_threads accepts. Beyond the cores, more threads only share them (the
// results stay the same, bit for bit), so a count past any machine's cores is a mistake rather
// than a wish; the cap is fixed, not a multiple of this machine's cores, so that a script runs the
// same everywhere. The count is checked here, before any parallel loop starts a thread.
inline constexpr std::size_t kMaxThreads = 1024;

// Threads used by every kernel from now on; 0 means all cores this process may run on (the
// machine's, or fewer under taskset or a container's cpuset). Throws std::invalid_argument for
// more than kMaxThreads.
void set_num_threads(std::size_t threads);

// Threads the kernels currently use.
std::size_t num_threads();

// A one-line hint when the linked OpenBLAS runs its generic kernels on this CPU (it did not
// recognise the CPU): the environment variable that fixes it; empty when all is well.
std::string blas_speed_hint();

}  // namespace cnnkit
