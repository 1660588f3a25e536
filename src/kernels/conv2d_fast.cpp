// Run-time dispatch for the fast convolution kernels (their plans: conv2d_fast_plan.cpp).
// Compiled for the baseline x86-64 CPU: it asks runtime::best_simd_level (runtime/simd_level.hpp)
// what the CPU has and calls into simd_kernels_avx512.cpp / simd_kernels_avx2.cpp when it may.
#include "kernels/conv2d_fast.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cnnkit/threading.hpp"

namespace cnnkit::kernels {

namespace {

float* aligned(std::vector<float>& workspace, std::size_t floats) {
  if (workspace.size() < floats + 16) workspace.resize(floats + 16);
  const auto address = reinterpret_cast<std::uintptr_t>(workspace.data());
  return workspace.data() + (64 - address % 64) % 64 / sizeof(float);
}

}  // namespace

bool conv2d_forward_fast(const ConvGeometry& g, const float* input, const float* weights,
                         const float* bias, float* output, std::vector<float>& workspace,
                         runtime::SimdLevel level, const ConvEpilogue& epilogue) {
  if (!conv2d_fast_forward_covers(g, level)) return false;
#if defined(__x86_64__) || defined(__i386__)
  const FastForwardPlan plan = plan_forward(g, level, num_threads());
  float* ws = aligned(workspace, plan.total);
  if (level == runtime::SimdLevel::kAvx512) {
    detail::conv2d_forward_avx512(plan, input, weights, bias, output, ws, epilogue);
  } else {
    detail::conv2d_forward_avx2(plan, input, weights, bias, output, ws, epilogue);
  }
  return true;
#else
  (void)input, (void)weights, (void)bias, (void)output, (void)workspace, (void)epilogue;
  return false;
#endif
}

bool conv2d_backward_fast(const ConvGeometry& g, const float* input, const float* weights,
                          const float* error, float* input_error, float* weight_gradient,
                          float* bias_gradient, std::vector<float>& workspace,
                          runtime::SimdLevel level) {
  if (!conv2d_fast_covers(g, level)) return false;
#if defined(__x86_64__) || defined(__i386__)
  const FastBackwardPlan plan = plan_backward(g, level, num_threads());
  float* ws = aligned(workspace, plan.total);
  if (level == runtime::SimdLevel::kAvx512) {
    detail::conv2d_backward_avx512(plan, input, weights, error, input_error, weight_gradient,
                                   bias_gradient, ws);
  } else {
    detail::conv2d_backward_avx2(plan, input, weights, error, input_error, weight_gradient,
                                 bias_gradient, ws);
  }
  return true;
#else
  (void)input, (void)weights, (void)error, (void)input_error, (void)weight_gradient;
  (void)bias_gradient, (void)workspace;
  return false;
#endif
}

}  // namespace cnnkit::kernels
