// Runs a fast-kernel plan (conv2d_fast_plan.hpp) at a given SIMD level on a caller's workspace:
// for the paths that rearrange a convolution into ordinary ones the SIMD kernels cover
// (conv2d_grouped.cpp: one group at a time; conv2d_dilated.cpp: the phase images) and keep their
// own buffers beside the kernels' in one workspace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/conv2d_fast.hpp"

namespace cnnkit::kernels::detail {

// Grows `workspace` to `floats` past a 64-byte boundary and returns that boundary.
inline float* aligned_start(std::vector<float>& workspace, std::size_t floats) {
  if (workspace.size() < floats + 16) workspace.resize(floats + 16);
  const auto address = reinterpret_cast<std::uintptr_t>(workspace.data());
  return workspace.data() + (64 - address % 64) % 64 / sizeof(float);
}

// Where a copied-batch path's workspace regions lie: the fast kernels' own (64-byte aligned), then
// the copied batch's input, its output (or error) and, for backward, its input error; `h` is the
// geometry the fast kernels run.
struct CopiedBatch {
  float* fast;
  float* input;
  float* output;
  float* input_error;
};

// `count` such regions one after the other (one per thread), each 64-byte aligned.
struct CopiedBatches {
  float* first;
  std::size_t slot, fast_total, input, output;

  CopiedBatch at(std::size_t i) const {
    float* const fast = first + i * slot;
    return {fast, fast + fast_total, fast + fast_total + input, fast + fast_total + input + output};
  }
};

inline CopiedBatches copied_batches(std::vector<float>& workspace, std::size_t fast_total,
                                    const ConvGeometry& h, std::size_t count) {
  const std::size_t input = h.input_size(), output = h.output_size();
  const std::size_t slot = (fast_total + 2 * input + output + 15) / 16 * 16;
  return {aligned_start(workspace, slot * count), slot, fast_total, input, output};
}

inline CopiedBatch copied_batch(std::vector<float>& workspace, std::size_t fast_total,
                                const ConvGeometry& h) {
  return copied_batches(workspace, fast_total, h, 1).at(0);
}

inline void forward_on(runtime::SimdLevel level, const FastForwardPlan& plan, const float* input,
                       const float* weights, const float* bias, float* output, float* workspace) {
#if defined(__x86_64__) || defined(__i386__)
  if (level == runtime::SimdLevel::kAvx512) {
    conv2d_forward_avx512(plan, input, weights, bias, output, workspace);
  } else {
    conv2d_forward_avx2(plan, input, weights, bias, output, workspace);
  }
#else
  (void)level, (void)plan, (void)input, (void)weights, (void)bias, (void)output, (void)workspace;
#endif
}

inline void backward_on(runtime::SimdLevel level, const FastBackwardPlan& plan, const float* input,
                        const float* weights, const float* error, float* input_error,
                        float* weight_gradient, float* bias_gradient, float* workspace) {
#if defined(__x86_64__) || defined(__i386__)
  if (level == runtime::SimdLevel::kAvx512) {
    conv2d_backward_avx512(plan, input, weights, error, input_error, weight_gradient, bias_gradient,
                           workspace);
  } else {
    conv2d_backward_avx2(plan, input, weights, error, input_error, weight_gradient, bias_gradient,
                         workspace);
  }
#else
  (void)level, (void)plan, (void)input, (void)weights, (void)error, (void)input_error;
  (void)weight_gradient, (void)bias_gradient, (void)workspace;
#endif
}

}  // namespace cnnkit::kernels::detail
