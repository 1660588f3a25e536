// Max pooling of one plane over pairs of columns, stride 2 (the common 2x2 window, and the 1-D
// window 2), with SIMD registers across output columns: each register holds kLanes outputs; the
// window positions are the even and odd columns of the window's input rows. Compiled once per ISA
// like the convolution blocks (included by simd_kernels_avx512.cpp and simd_kernels_avx2.cpp inside
// their `#pragma GCC target` region).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// out (out_y, out_x) and, when arg is not null, arg (flat index of each maximum in the plane, the
// first in row-major order on ties) from the (in_y, in_x) plane `in`, for a window of
// `window_rows` (1 or 2) rows by 2 columns, stride 2 both ways; needs
// window_rows + 2*(out_y-1) <= in_y and 2*out_x <= in_x. One row is the 1-D pooling of window 2,
// stride 2: a 1-D plane of length L is the row (1, L). A null arg (the testing phase) leaves out
// the index registers: a max per window position instead of compare, blend and blend.
template <bool kArgmax>
inline void max_pool_pairs(const float* in, std::size_t in_x, std::size_t window_rows,
                           std::size_t out_y, std::size_t out_x, float* out, std::uint32_t* arg) {
  const int width = static_cast<int>(in_x);
  for (std::size_t oy = 0; oy < out_y; ++oy) {
    const float* top = in + 2 * oy * in_x;
    const float* bottom = top + in_x;
    for (std::size_t ox = 0; ox < out_x; ox += Simd::kLanes) {
      const int n = static_cast<int>(out_x - ox < Simd::kLanes ? out_x - ox : Simd::kLanes);
      Reg a, b;
      Simd::load_even_odd(top + 2 * ox, 2 * n, a, b);
      // Row-major order of the window: a (top left), b, then the bottom row's d, e.
      Reg best = a;
      if constexpr (kArgmax) {
        const Simd::IReg index_a = Simd::indices(static_cast<int>(2 * oy * in_x + 2 * ox), 2);
        Simd::IReg index = index_a;
        Simd::keep_max(best, index, b, Simd::add(index_a, 1));
        if (window_rows == 2) {
          Reg d, e;
          Simd::load_even_odd(bottom + 2 * ox, 2 * n, d, e);
          Simd::keep_max(best, index, d, Simd::add(index_a, width));
          Simd::keep_max(best, index, e, Simd::add(index_a, width + 1));
        }
        Simd::store_first(arg + oy * out_x + ox, index, n);
      } else {
        Simd::keep_max(best, b);
        if (window_rows == 2) {
          Reg d, e;
          Simd::load_even_odd(bottom + 2 * ox, 2 * n, d, e);
          Simd::keep_max(best, d);
          Simd::keep_max(best, e);
        }
      }
      Simd::store_first(out + oy * out_x + ox, best, n);
    }
  }
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
