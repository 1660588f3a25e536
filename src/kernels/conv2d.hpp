// Convolution kernels (cross-correlation with padding, stride, dilation and groups as in
// ConvGeometry), apart from the Conv layer.
// Layouts, all contiguous row-major:
//   input  (N, C, Y, X)    weights (K, C, m, n)    bias (K)    output/error (N, K, Y', X')
// Every fast kernel has a plain-loop *_reference twin that the tests compare it against.
#pragma once

#include <vector>

#include "kernels/conv_epilogue.hpp"
#include "kernels/conv_geometry.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

// output[b,k,i,j] = bias[k] + sum_{c,u,v} weights[k,c,u,v] * input_padded[b,c,i*sy+u,j*sx+v]
template <typename T>
void conv2d_forward_reference(const ConvGeometry& g, const T* input, const T* weights,
                              const T* bias, T* output);

// From the error E (N,K,Y',X'):  input_error = dL/dinput (N,C,Y,X),
// weight_gradient = dL/dweights (K,C,m,n), bias_gradient[k] = sum over b,i,j of E[b,k,i,j].
// All three are overwritten, not accumulated into. input_error may be null: the input error is
// then not computed (nobody reads the error for a network's input).
template <typename T>
void conv2d_backward_reference(const ConvGeometry& g, const T* input, const T* weights,
                               const T* error, T* input_error, T* weight_gradient,
                               T* bias_gradient);

// The fast versions: same contract. `workspace` is scratch memory the kernel may grow and
// reuse between calls (the layer keeps it, so a steady-state step allocates nothing). The
// forward's outputs go through `epilogue` (conv_epilogue.hpp: a fused ReLU), in the SIMD and
// GEMM kernels sample by sample as they are stored, on the other paths in a pass after.
template <typename T>
void conv2d_forward(const ConvGeometry& g, const T* input, const T* weights, const T* bias,
                    T* output, std::vector<T>& workspace, const ConvEpilogue& epilogue = {});

template <typename T>
void conv2d_backward(const ConvGeometry& g, const T* input, const T* weights, const T* error,
                     T* input_error, T* weight_gradient, T* bias_gradient,
                     std::vector<T>& workspace);

// Depthwise convolutions (groups = channels > 1, conv2d_depthwise.hpp): direct loops along the
// output rows, which conv2d_forward / conv2d_backward take for them. Same contract.
bool is_depthwise(const ConvGeometry& g);

template <typename T>
void conv2d_forward_depthwise(const ConvGeometry& g, const T* input, const T* weights,
                              const T* bias, T* output, std::vector<T>& workspace);

template <typename T>
void conv2d_backward_depthwise(const ConvGeometry& g, const T* input, const T* weights,
                               const T* error, T* input_error, T* weight_gradient, T* bias_gradient,
                               std::vector<T>& workspace);

// Grouped float convolutions whose groups the SIMD kernels cover at `level` (conv2d_grouped.cpp):
// false, touching nothing, otherwise. Same contract.
bool conv2d_forward_grouped_fast(const ConvGeometry& g, const float* input, const float* weights,
                                 const float* bias, float* output, std::vector<float>& workspace,
                                 runtime::SimdLevel level = runtime::best_simd_level());
bool conv2d_backward_grouped_fast(const ConvGeometry& g, const float* input, const float* weights,
                                  const float* error, float* input_error, float* weight_gradient,
                                  float* bias_gradient, std::vector<float>& workspace,
                                  runtime::SimdLevel level = runtime::best_simd_level());

// The im2col + GEMM implementation behind the two above: what double, and float on CPUs or
// geometries the SIMD kernels (conv2d_fast.hpp) do not cover, run. Same contract.
template <typename T>
void conv2d_forward_gemm(const ConvGeometry& g, const T* input, const T* weights, const T* bias,
                         T* output, std::vector<T>& workspace, const ConvEpilogue& epilogue = {});

template <typename T>
void conv2d_backward_gemm(const ConvGeometry& g, const T* input, const T* weights, const T* error,
                          T* input_error, T* weight_gradient, T* bias_gradient,
                          std::vector<T>& workspace);

}  // namespace cnnkit::kernels
