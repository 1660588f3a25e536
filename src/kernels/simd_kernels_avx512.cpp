// Every SIMD kernel of cnnkit compiled for AVX-512 (CPUs that report avx512f): the fast
// convolution (conv2d_fast_forward.hpp, conv2d_fast_backward.hpp), 2x2 max pooling
// (pooling_simd.hpp), the fully connected layer's products (small_gemm_blocks.hpp), the
// depthwise convolution's row loops (conv2d_depthwise.hpp) and the register-tile transpose. One
// file per instruction set, not one per kernel: `#pragma GCC target` below must cover every
// template those kernels instantiate, and the register helpers they share (conv2d_fast_blocks.hpp)
// are compiled once for the set here. Only this file is built with those instructions, and the
// dispatchers (conv2d_fast.cpp, small_gemm.cpp, elementwise.cpp) call it only on CPUs that have
// them, so one cnnkit binary runs on any x86-64 machine and uses the widest vectors it finds.
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "kernels/conv2d_fast.hpp"
#include "kernels/conv2d_fast_plan.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/small_gemm.hpp"

#if defined(__x86_64__) || defined(__i386__)

#pragma GCC target("avx512f,fma")
// GCC 12 reports its own _mm512_undefined_ps() (behind masked loads, permutes and, in the
// planar ovec blocks' transpose, unpacks) as "may be used uninitialized" or "is used
// uninitialized" (GCC bug 105593, fixed in GCC 13): silence that false alarm here only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "kernels/simd_avx512.hpp"

#define CNNKIT_SIMD_NAMESPACE avx512
#include "kernels/conv2d_depthwise.hpp"
#include "kernels/conv2d_fast_backward.hpp"
#include "kernels/conv2d_fast_blocks.hpp"
#include "kernels/conv2d_fast_forward.hpp"
#include "kernels/pooling_simd.hpp"
#include "kernels/small_gemm_blocks.hpp"
#undef CNNKIT_SIMD_NAMESPACE

namespace cnnkit::kernels::detail {

void conv2d_forward_avx512(const FastForwardPlan& plan, const float* input, const float* weights,
                           const float* bias, float* output, float* workspace,
                           const ConvEpilogue& epilogue) {
  avx512::conv2d_forward_fast(plan, input, weights, bias, output, workspace, epilogue);
}

void conv2d_backward_avx512(const FastBackwardPlan& plan, const float* input, const float* weights,
                            const float* error, float* input_error, float* weight_gradient,
                            float* bias_gradient, float* workspace) {
  avx512::conv2d_backward_fast(plan, input, weights, error, input_error, weight_gradient,
                               bias_gradient, workspace);
}

void max_pool_pairs_avx512(const float* in, std::size_t in_x, std::size_t window_rows,
                           std::size_t out_y, std::size_t out_x, float* out, std::uint32_t* arg) {
  if (arg == nullptr)
    return avx512::max_pool_pairs<false>(in, in_x, window_rows, out_y, out_x, out, arg);
  avx512::max_pool_pairs<true>(in, in_x, window_rows, out_y, out_x, out, arg);
}

void small_gemm_avx512(std::size_t m, std::size_t n, std::size_t k, const float* a,
                       std::size_t a_row, std::size_t a_depth, const float* b, std::size_t b_row,
                       std::size_t b_column, const float* init, float* c, std::size_t ldc) {
  avx512::small_gemm_strided(m, n, k, a, a_row, a_depth, b, b_row, b_column, init, c, ldc);
}

void transpose_avx512(const float* src, std::size_t rows, std::size_t cols, std::size_t src_ld,
                      float* dst, std::size_t dst_ld) {
  avx512::transpose(src, rows, cols, src_ld, dst, dst_ld);
}

void depthwise_forward_avx512(const ConvGeometry& g, const float* input, const float* weights,
                              const float* bias, float* output, float* scratch) {
  avx512::depthwise_forward(g, input, weights, bias, output, scratch);
}

void depthwise_backward_avx512(const ConvGeometry& g, const float* input, const float* weights,
                               const float* error, float* input_error, float* weight_gradient,
                               float* bias_gradient, float* scratch) {
  avx512::depthwise_backward(g, input, weights, error, input_error, weight_gradient, bias_gradient,
                             scratch);
}

}  // namespace cnnkit::kernels::detail

#endif
