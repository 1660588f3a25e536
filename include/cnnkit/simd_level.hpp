// Which SIMD instruction set cnnkit's kernels use: the widest the CPU has unless one is forced,
// by CNNKIT_SIMD=avx512|avx2|none in the environment (read at the first kernel call) or by
// set_simd_level. "none" sends float convolutions and products to the im2col + BLAS path, as on a
// CPU without AVX2. Forcing a level changes which kernels run, so results may differ in rounding
// from the widest level's.
#pragma once

#include <string>
#include <string_view>

namespace cnnkit {

// Forces the kernels' level from now on: "avx512", "avx2" or "none". Throws
// std::invalid_argument for another name or a level this CPU lacks (changing nothing).
void set_simd_level(std::string_view level);

// The level the kernels use now, by the same names. Throws std::invalid_argument when
// CNNKIT_SIMD holds another name or a level this CPU lacks.
std::string simd_level();

}  // namespace cnnkit
