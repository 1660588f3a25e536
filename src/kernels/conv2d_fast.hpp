// Fast float convolution kernels with run-time CPU dispatch (AVX-512, AVX2 + FMA): direct
// convolution in SIMD register blocks, no im2col matrix. Same contract as conv2d_forward /
// conv2d_backward in conv2d.hpp; these return false, touching nothing, when the geometry or the
// CPU is outside what they cover (the caller then takes the GEMM path). How they work:
// conv2d_fast_plan.hpp; the blocks: conv2d_fast_blocks.hpp; the drivers: conv2d_fast_forward.hpp
// and conv2d_fast_backward.hpp (their common parts: conv2d_fast_memory.hpp).
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/conv2d_fast_plan.hpp"
#include "kernels/conv_epilogue.hpp"
#include "kernels/conv_geometry.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

// True when the fast kernels take this geometry at this level.
bool conv2d_fast_covers(const ConvGeometry& g,
                        runtime::SimdLevel level = runtime::best_simd_level());

// True when the fast forward takes this geometry: what conv2d_fast_covers takes, and stride-1
// convolutions of one group with any dilation and padding (ovec blocks over tap tables with the
// dilated offsets). The backward covers conv2d_fast_covers only.
bool conv2d_fast_forward_covers(const ConvGeometry& g,
                                runtime::SimdLevel level = runtime::best_simd_level());

// `workspace` grows to what the call needs and is reused by the next call with the same geometry
// (no allocation then). Threads: num_threads() (threading.hpp), at most one per sample. The
// forward applies `epilogue` (conv_epilogue.hpp) to each sample's outputs as they are stored.
bool conv2d_forward_fast(const ConvGeometry& g, const float* input, const float* weights,
                         const float* bias, float* output, std::vector<float>& workspace,
                         runtime::SimdLevel level = runtime::best_simd_level(),
                         const ConvEpilogue& epilogue = {});

bool conv2d_backward_fast(const ConvGeometry& g, const float* input, const float* weights,
                          const float* error, float* input_error, float* weight_gradient,
                          float* bias_gradient, std::vector<float>& workspace,
                          runtime::SimdLevel level = runtime::best_simd_level());

// The plans, exposed for the benchmarks and tests (which kernel shape a geometry gets).
FastForwardPlan plan_forward(const ConvGeometry& g, runtime::SimdLevel level, std::size_t threads);
FastBackwardPlan plan_backward(const ConvGeometry& g, runtime::SimdLevel level,
                               std::size_t threads);

namespace detail {
// Per-ISA entry points (simd_kernels_avx512.cpp, simd_kernels_avx2.cpp); `workspace` is 64-byte
// aligned and holds plan.total floats.
void conv2d_forward_avx512(const FastForwardPlan& plan, const float* input, const float* weights,
                           const float* bias, float* output, float* workspace,
                           const ConvEpilogue& epilogue = {});
void conv2d_backward_avx512(const FastBackwardPlan& plan, const float* input, const float* weights,
                            const float* error, float* input_error, float* weight_gradient,
                            float* bias_gradient, float* workspace);
void conv2d_forward_avx2(const FastForwardPlan& plan, const float* input, const float* weights,
                         const float* bias, float* output, float* workspace,
                         const ConvEpilogue& epilogue = {});
void conv2d_backward_avx2(const FastBackwardPlan& plan, const float* input, const float* weights,
                          const float* error, float* input_error, float* weight_gradient,
                          float* bias_gradient, float* workspace);
}  // namespace detail

}  // namespace cnnkit::kernels
