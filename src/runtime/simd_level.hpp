// Which SIMD instruction set the kernels run: asked of the CPU once per call (cheap), so one
// cnnkit binary runs on any x86-64 machine and uses the widest vectors it has. Every kernel
// with per-ISA code (convolution, pooling, Adam, the fully connected products) dispatches on it.
#pragma once

#include <string>

namespace cnnkit::runtime {

enum class SimdLevel { kNone, kAvx2, kAvx512 };

// The widest level this CPU runs (kNone off x86-64 or without AVX2 + FMA).
SimdLevel best_simd_level();
std::string to_string(SimdLevel level);

}  // namespace cnnkit::runtime
