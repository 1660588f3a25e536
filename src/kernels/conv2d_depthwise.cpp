// Entry points of the depthwise convolution (conv2d_depthwise.hpp): float on AVX-512 or AVX2
// goes to the loops compiled for that set (simd_kernels_*.cpp), double and other CPUs to the
// copy compiled here for the baseline CPU. A 1-D convolution along y runs as rows (as_rows).
#include <type_traits>
#include <vector>

#include "kernels/conv2d.hpp"
#include "runtime/simd_level.hpp"
#include "runtime/thread_pool.hpp"

#define CNNKIT_SIMD_NAMESPACE baseline
#include "kernels/conv2d_depthwise.hpp"
#undef CNNKIT_SIMD_NAMESPACE

namespace cnnkit::kernels {

namespace {

template <typename T>
T* scratch_for(const ConvGeometry& g, std::vector<T>& workspace) {
  const std::size_t size =
      baseline::depthwise_scratch(g) * runtime::team_size() + baseline::depthwise_shared_scratch(g);
  if (workspace.size() < size) workspace.resize(size);
  return workspace.data();
}

}  // namespace

bool is_depthwise(const ConvGeometry& g) {
  return g.groups > 1 && g.groups == g.channels;
}

template <typename T>
void conv2d_forward_depthwise(const ConvGeometry& geometry, const T* input, const T* weights,
                              const T* bias, T* output, std::vector<T>& workspace) {
  const ConvGeometry g = as_rows(geometry);
  T* const scratch = scratch_for(g, workspace);
  if constexpr (std::is_same_v<T, float>) {
#if defined(__x86_64__) || defined(__i386__)
    switch (runtime::best_simd_level()) {
      case runtime::SimdLevel::kAvx512:
        return detail::depthwise_forward_avx512(g, input, weights, bias, output, scratch);
      case runtime::SimdLevel::kAvx2:
        return detail::depthwise_forward_avx2(g, input, weights, bias, output, scratch);
      default:
        break;
    }
#endif
  }
  baseline::depthwise_forward(g, input, weights, bias, output, scratch);
}

template <typename T>
void conv2d_backward_depthwise(const ConvGeometry& geometry, const T* input, const T* weights,
                               const T* error, T* input_error, T* weight_gradient, T* bias_gradient,
                               std::vector<T>& workspace) {
  const ConvGeometry g = as_rows(geometry);
  T* const scratch = scratch_for(g, workspace);
  if constexpr (std::is_same_v<T, float>) {
#if defined(__x86_64__) || defined(__i386__)
    switch (runtime::best_simd_level()) {
      case runtime::SimdLevel::kAvx512:
        return detail::depthwise_backward_avx512(g, input, weights, error, input_error,
                                                 weight_gradient, bias_gradient, scratch);
      case runtime::SimdLevel::kAvx2:
        return detail::depthwise_backward_avx2(g, input, weights, error, input_error,
                                               weight_gradient, bias_gradient, scratch);
      default:
        break;
    }
#endif
  }
  baseline::depthwise_backward(g, input, weights, error, input_error, weight_gradient,
                               bias_gradient, scratch);
}

template void conv2d_forward_depthwise<float>(const ConvGeometry&, const float*, const float*,
                                              const float*, float*, std::vector<float>&);
template void conv2d_forward_depthwise<double>(const ConvGeometry&, const double*, const double*,
                                               const double*, double*, std::vector<double>&);
template void conv2d_backward_depthwise<float>(const ConvGeometry&, const float*, const float*,
                                               const float*, float*, float*, float*,
                                               std::vector<float>&);
template void conv2d_backward_depthwise<double>(const ConvGeometry&, const double*, const double*,
                                                const double*, double*, double*, double*,
                                                std::vector<double>&);

}  // namespace cnnkit::kernels
