// 1x1 ("pointwise") convolutions as matrix products over the pixels the stride keeps. With a 1x1
// kernel, one group and no padding, output pixel (i, j) reads input pixel (i*sy, j*sx) alone,
// so for each sample b, with X_b (C x P') the input at the kept pixels (P' = Y' X'):
//   forward:      Y_b (K x P')  = W (K x C) X_b + bias (per row)
//   input error:  E_{n-1,b}     = W^T (C x K) E_b (K x P'), scattered back to the kept pixels,
//                                 zero at the pixels the stride skips
//   weights:      grad W (K x C) = sum over b of E_b X_b^T
//   bias:         grad bias[k]   = sum over b and pixels of E_b[k, :]
// For stride 1, X_b is the sample itself; otherwise a copy of its kept pixels, made per sample
// (a quarter of it at stride 2) and read by the product while it is in the cache.
//
// float runs the products on small_gemm's SIMD blocks at the given level (small_gemm.hpp), or on
// BLAS without AVX2; double on BLAS. The twin that tests hold these to is the plain-loop
// conv2d_*_reference (conv2d.hpp).
//
// Threads take samples (forward) or groups of samples (backward). The weight and bias gradients
// are summed sample by sample in order within a group, into one partial per group, and the
// partials are then added in group order. The groups are contiguous runs of samples, as many as
// pointwise_gradient_groups says, a function of the geometry alone: the gradients are the same
// bits on any number of threads (and, for a group of the data-parallel step, on any number of
// ranks: docs/DISTRIBUTED.md). Each group's samples also get their input error in the same pass,
// while E_b is in the cache.
#pragma once

#include <cstddef>
#include <vector>

#include "kernels/conv_geometry.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

// Whether g is a pointwise convolution these kernels take: one group, a 1x1 kernel (dilation then
// changes nothing), no padding ("same" pads a 1x1 kernel by nothing; explicit padding must be
// zero), no zero extent.
bool is_pointwise(const ConvGeometry& g);

// Groups of samples of the backward pass's gradient sums: at most kFastGradientGroups (4), at
// most the batch, and each at least 128 output pixels where the batch allows (a power of two):
// the same cut as conv2d_fast's on up to 4 threads, but never more groups with more threads.
std::size_t pointwise_gradient_groups(const ConvGeometry& g);

// Same contract as conv2d_forward / conv2d_backward (conv2d.hpp); false, touching nothing, when
// !is_pointwise(g) or (float) the level is above best_simd_level(). `level` picks the SIMD blocks
// of float's products (kNone: BLAS); double ignores it.
template <typename T>
bool conv2d_forward_pointwise(const ConvGeometry& g, const T* input, const T* weights,
                              const T* bias, T* output, std::vector<T>& workspace,
                              runtime::SimdLevel level = runtime::best_simd_level());

template <typename T>
bool conv2d_backward_pointwise(const ConvGeometry& g, const T* input, const T* weights,
                               const T* error, T* input_error, T* weight_gradient, T* bias_gradient,
                               std::vector<T>& workspace,
                               runtime::SimdLevel level = runtime::best_simd_level());

}  // namespace cnnkit::kernels
