// Resizing planar images (channels, height, width) with a bilinear filter.
#pragma once

#include <cstddef>

namespace cnnkit::detail {

// input is (channels, in_height, in_width), output is (channels, out_height, out_width).
// Each output pixel is a weighted mean of the source pixels under a triangle ("tent") filter
// centred on the output pixel's centre. When enlarging, the tent is one source pixel wide on each
// side: ordinary bilinear interpolation between the two nearest pixel centres (edges clamped).
// When shrinking by a factor s, the tent is widened to s source pixels on each side, so every
// source pixel contributes and a fine pattern averages out instead of aliasing.
// Weights falling outside the image are dropped and the rest renormalised. Sizes must be >= 1.
template <typename T>
void resize_bilinear(const T* input, std::size_t channels, std::size_t in_height,
                     std::size_t in_width, T* output, std::size_t out_height,
                     std::size_t out_width);

}  // namespace cnnkit::detail
