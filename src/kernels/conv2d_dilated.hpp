// Dilated float convolutions with stride 1 as ordinary ones on phase images (the polyphase
// decomposition). With stride 1, output pixel y reads input rows y + d*i - pad: all of an
// output's taps lie in one residue class modulo d. Phase image (a, b) of a sample holds its input
// rows a, a + dy, a + 2dy, ... and columns b, b + dx, ...; on it the dilated kernel is an ordinary
// one with taps one pixel apart. For odd kernels and padding of at most d*(k-1)/2 on each side
// ("same", "valid" and everything between), every output is one output of the "same" convolution
// of one phase image: output y is phase row (y + d*(k-1)/2 - pad_before) / d of phase
// (y + d*(k-1)/2 - pad_before) mod d. The phase images of all samples, padded with zeros to a
// common size, are one batch (N*dy*dx samples, sample-major) for the SIMD kernels
// (conv2d_fast.hpp): the forward pass, the input error (re-interleaved) and the weight and bias
// gradient (the kernels' sum over the batch, with zero error at the outputs no real output maps
// to) are theirs. The fast kernels' gradient groups follow the phase batch, a function of the
// geometry, so a given geometry gives the same bits on 1 to 4 threads, as every fast convolution.
#pragma once

#include <vector>

#include "kernels/conv_geometry.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

// True when the phase images of `g` are a geometry the SIMD kernels take at `level`.
bool conv2d_dilated_covers(const ConvGeometry& g,
                           runtime::SimdLevel level = runtime::best_simd_level());

// Whether conv2d_forward / conv2d_backward take this path (docs/KERNELS.md has the rule): covered,
// two-dimensional, and the phase images' "same" outputs at most 5/4 of the real outputs. 1-D
// dilated convolutions stay off it: their lowered rows are contiguous copies and one
// well-shaped matrix product per sample, which the phase copies do not beat (their backward takes
// the row view of conv2d_dilated_rows.hpp where it fits); "valid" padding with
// dilation d drops d*(k-1) of every d phase pixels per axis, all computed in vain.
bool conv2d_dilated_pays(const ConvGeometry& g);

// Same contract as conv2d_forward / conv2d_backward (conv2d.hpp); false, touching nothing, when
// not covered. `workspace` holds the kernels' own memory and the phase images, and is reused.
bool conv2d_forward_dilated(const ConvGeometry& g, const float* input, const float* weights,
                            const float* bias, float* output, std::vector<float>& workspace,
                            runtime::SimdLevel level = runtime::best_simd_level());

bool conv2d_backward_dilated(const ConvGeometry& g, const float* input, const float* weights,
                             const float* error, float* input_error, float* weight_gradient,
                             float* bias_gradient, std::vector<float>& workspace,
                             runtime::SimdLevel level = runtime::best_simd_level());

}  // namespace cnnkit::kernels
