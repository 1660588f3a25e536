// Dilated 1-D float convolutions as 2-D ones without a copy. With stride 1 and dilation d, output
// x reads inputs x - pad + d i; when d divides the length L and the padding is d (k-1)/2 on both
// sides ("same" for odd k), a signal of L values is an image of L/d rows of d columns (value x at
// row x / d, column x % d), and output (row r, column a) reads rows r - (k-1)/2 + i of column a:
// an ordinary k x 1 convolution with "same" padding, taps one pixel apart, on the very same
// memory, input, weights (K, C, k, 1) and output alike. The SIMD kernels (conv2d_fast.hpp) run
// that view as it is, so a given geometry gives the same bits on 1 to 4 threads, as every fast
// convolution.
#pragma once

#include <vector>

#include "kernels/conv_geometry.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

// True when `g` is such a 1-D convolution and the SIMD kernels take its view at `level`.
bool conv2d_dilated_rows_covers(const ConvGeometry& g,
                                runtime::SimdLevel level = runtime::best_simd_level());

// Same contract as conv2d_forward / conv2d_backward (conv2d.hpp); false, touching nothing, when
// not covered. `workspace` holds the SIMD kernels' own memory and is reused.
bool conv2d_forward_dilated_rows(const ConvGeometry& g, const float* input, const float* weights,
                                 const float* bias, float* output, std::vector<float>& workspace,
                                 runtime::SimdLevel level = runtime::best_simd_level());

bool conv2d_backward_dilated_rows(const ConvGeometry& g, const float* input, const float* weights,
                                  const float* error, float* input_error, float* weight_gradient,
                                  float* bias_gradient, std::vector<float>& workspace,
                                  runtime::SimdLevel level = runtime::best_simd_level());

}  // namespace cnnkit::kernels
