// Element-wise and pooling kernels of the ReLU and Pooling layers. ReLU keeps one byte per element
// for backward (where x > 0), not a copy of x: a quarter of the memory traffic for float. Its
// backward reads both values before choosing, so the choice compiles to a select, not a branch
// that real activations (signs close to random) mispredict every other element; 2x2 stride-2 max
// pooling of float runs in SIMD registers (pooling_simd.hpp, runtime AVX-512 / AVX2 dispatch),
// forward only; the testing phase skips the argmax.
// tests/elementwise_kernels_test.cpp holds them to the obvious definitions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cnnkit::kernels {

// y = max(0, x) for n elements; passes[i] = 1 where x > 0, else 0, unless passes is null (the
// testing phase keeps nothing for backward).
template <typename T>
void relu_forward(const T* x, T* y, std::uint8_t* passes, std::size_t n);

// relu_forward over [begin, end) on the calling thread alone (passes not null), for a caller that
// runs its own loop on the threads (Add's fused ReLU).
template <typename T>
void relu_forward_range(const T* x, T* y, std::uint8_t* passes, std::size_t begin, std::size_t end);

// input_error = error where passes (x > 0), else 0 (the subgradient 0 at x = 0), for n elements.
template <typename T>
void relu_backward(const std::uint8_t* passes, const T* error, T* input_error, std::size_t n);

// Max pooling of one (in_y, in_x) plane with window (py, px) and stride (sy, sx), no padding,
// into (out_y, out_x): out = the window's maximum, arg = its flat index in the plane, the first
// in row-major order on ties (strict >). A null arg (the testing phase) computes the maxima alone.
template <typename T>
void max_pool_plane(const T* in, std::size_t in_x, std::size_t py, std::size_t px, std::size_t sy,
                    std::size_t sx, std::size_t out_y, std::size_t out_x, T* out,
                    std::uint32_t* arg);

namespace detail {
// Max pooling of one plane over windows of window_rows (1 or 2) x 2, stride 2 (pooling_simd.hpp),
// per ISA (simd_kernels_avx512.cpp, simd_kernels_avx2.cpp); max_pool_plane calls the widest the
// CPU runs.
void max_pool_pairs_avx512(const float* in, std::size_t in_x, std::size_t window_rows,
                           std::size_t out_y, std::size_t out_x, float* out, std::uint32_t* arg);
void max_pool_pairs_avx2(const float* in, std::size_t in_x, std::size_t window_rows,
                         std::size_t out_y, std::size_t out_x, float* out, std::uint32_t* arg);
}  // namespace detail

}  // namespace cnnkit::kernels
