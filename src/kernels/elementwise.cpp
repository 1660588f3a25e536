#include "kernels/elementwise.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/chunks.hpp"
#include "kernels/relu_loops.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

namespace {

// Below this many elements a parallel region costs more than it saves.
constexpr std::size_t kParallelElements = std::size_t{1} << 16;

template <typename T>
void pass_chunk(const std::uint8_t* passes, const T* error, T* input_error, std::size_t begin,
                std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    // Both values are read unconditionally, so the choice is a select, not a branch.
    const T e = error[i];
    input_error[i] = passes[i] != 0 ? e : T(0);
  }
}

}  // namespace

// Element-wise: each element is written by one thread, the same value on any thread count.
template <typename T>
void relu_forward(const T* x, T* y, std::uint8_t* passes, std::size_t n) {
  if (passes == nullptr) {
    for_chunks(n, n >= kParallelElements,
               [=](std::size_t begin, std::size_t end) { rectify_chunk(x, y, begin, end); });
    return;
  }
  for_chunks(n, n >= kParallelElements,
             [=](std::size_t begin, std::size_t end) { rectify_chunk(x, y, passes, begin, end); });
}

template <typename T>
void relu_forward_range(const T* x, T* y, std::uint8_t* passes, std::size_t begin,
                        std::size_t end) {
  rectify_chunk(x, y, passes, begin, end);
}

template <typename T>
void relu_backward(const std::uint8_t* passes, const T* error, T* input_error, std::size_t n) {
  for_chunks(n, n >= kParallelElements, [=](std::size_t begin, std::size_t end) {
    pass_chunk(passes, error, input_error, begin, end);
  });
}

namespace {

// The common 2x2 window, stride 2, and the 1-D window 2, stride 2 (a plane (L, 1) read as the row
// (1, L), the same flat indices): SIMD across output columns (pooling_simd.hpp).
bool pairs_window(std::size_t in_x, std::size_t py, std::size_t px, std::size_t sy,
                  std::size_t sx) {
  const bool two_by_two = py == 2 && px == 2 && sy == 2 && sx == 2;
  const bool one_d_pairs = py == 2 && sy == 2 && px == 1 && sx == 1 && in_x == 1;
  return two_by_two || one_d_pairs;
}

}  // namespace

template <typename T>
void max_pool_plane(const T* in, std::size_t in_x, std::size_t py, std::size_t px, std::size_t sy,
                    std::size_t sx, std::size_t out_y, std::size_t out_x, T* out,
                    std::uint32_t* arg) {
  if constexpr (std::is_same_v<T, float>) {
    const runtime::SimdLevel level = runtime::best_simd_level();
    if (pairs_window(in_x, py, px, sy, sx) && level >= runtime::SimdLevel::kAvx2) {
      const auto pool = level == runtime::SimdLevel::kAvx512 ? &detail::max_pool_pairs_avx512
                                                             : &detail::max_pool_pairs_avx2;
      if (px == 2) return pool(in, in_x, 2, out_y, out_x, out, arg);
      return pool(in, 2 * out_y, 1, 1, out_y, out, arg);
    }
  }
  // Any window: a scan per output, with a branch rather than a branch-free select: post-ReLU
  // data, many zeros and few maxima, predicts it well.
  for (std::size_t oy = 0; oy < out_y; ++oy) {
    for (std::size_t ox = 0; ox < out_x; ++ox) {
      std::size_t index = oy * sy * in_x + ox * sx;
      T best = in[index];
      for (std::size_t wy = 0; wy < py; ++wy) {
        const std::size_t row = (oy * sy + wy) * in_x + ox * sx;
        for (std::size_t wx = 0; wx < px; ++wx) {
          if (in[row + wx] > best) {  // strict: the first maximum wins ties
            best = in[row + wx];
            index = row + wx;
          }
        }
      }
      out[oy * out_x + ox] = best;
      if (arg != nullptr) arg[oy * out_x + ox] = static_cast<std::uint32_t>(index);
    }
  }
}

template void relu_forward<float>(const float*, float*, std::uint8_t*, std::size_t);
template void relu_forward<double>(const double*, double*, std::uint8_t*, std::size_t);
template void relu_forward_range<float>(const float*, float*, std::uint8_t*, std::size_t,
                                        std::size_t);
template void relu_forward_range<double>(const double*, double*, std::uint8_t*, std::size_t,
                                         std::size_t);
template void relu_backward<float>(const std::uint8_t*, const float*, float*, std::size_t);
template void relu_backward<double>(const std::uint8_t*, const double*, double*, std::size_t);
template void max_pool_plane<float>(const float*, std::size_t, std::size_t, std::size_t,
                                    std::size_t, std::size_t, std::size_t, std::size_t, float*,
                                    std::uint32_t*);
template void max_pool_plane<double>(const double*, std::size_t, std::size_t, std::size_t,
                                     std::size_t, std::size_t, std::size_t, std::size_t, double*,
                                     std::uint32_t*);

}  // namespace cnnkit::kernels
