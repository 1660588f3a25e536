// Which SIMD instruction set the kernels run: the widest the CPU has, so one cnnkit binary runs
// on any x86-64 machine and uses the widest vectors it has, unless a narrower one is forced
// (CNNKIT_SIMD in the environment, or cnnkit::set_simd_level: to measure or test the AVX2 kernels
// on an AVX-512 machine, or the im2col + BLAS path). Every kernel with per-ISA code
// (convolution, pooling, Adam, the fully connected products) dispatches on best_simd_level().
#pragma once

#include <string>
#include <string_view>

namespace cnnkit::runtime {

enum class SimdLevel { kNone, kAvx2, kAvx512 };

// The widest level this CPU runs (kNone off x86-64 or without AVX2 + FMA).
SimdLevel cpu_simd_level();

// The level the kernels use: the forced one, else cpu_simd_level(). CNNKIT_SIMD is read at the
// first call; a value that is not a level, or a level the CPU lacks, throws
// std::invalid_argument (then at every call).
SimdLevel best_simd_level();

// Forces the kernels' level from now on; throws std::invalid_argument, changing nothing, for a
// level the CPU lacks. `component` names the caller in the message.
void force_simd_level(SimdLevel level, std::string_view component);

// "avx512", "avx2" or "none" to a level; throws std::invalid_argument naming `component` for
// anything else.
SimdLevel parse_simd_level(std::string_view name, std::string_view component);
std::string to_string(SimdLevel level);

}  // namespace cnnkit::runtime
