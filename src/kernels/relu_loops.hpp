// The ReLU's element loops, shared by the ReLU layer's kernels (elementwise.cpp) and the fused
// ReLU of the convolutions (conv_epilogue.hpp), so that a fused ReLU is the layer's to the bit.
// `Isa`: a type of the calling instruction set's own namespace (its Simd) where a SIMD kernel
// calls them, so that each set's compilation is an instantiation of its own: the linker keeps one
// of the copies of an inline function, which may be one compiled for instructions this CPU lacks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cnnkit::kernels {

// y = max(0, x) over [begin, end), passes = 1 where x > 0. The pointers come as arguments and
// `passes` is restrict: a byte store may alias anything, and without both the compiler reloaded
// x and y from a lambda's captures after every mask byte and kept the loop scalar. x and y may be
// the same buffer (in place).
template <typename T, typename Isa = void>
inline void rectify_chunk(const T* x, T* y, std::uint8_t* __restrict passes, std::size_t begin,
                          std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    const T value = x[i];
    const bool positive = value > T(0);
    y[i] = positive ? value : T(0);
    passes[i] = static_cast<std::uint8_t>(positive);
  }
}

// y = max(0, x) over [begin, end), nothing kept.
template <typename T, typename Isa = void>
inline void rectify_chunk(const T* x, T* y, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) y[i] = x[i] > T(0) ? x[i] : T(0);
}

}  // namespace cnnkit::kernels
