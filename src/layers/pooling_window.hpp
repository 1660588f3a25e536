// The window and stride of the pooling layers (Pooling, AveragePooling), each 1 or 2 values as
// given, and what they mean for an input: a 2-D input (batch, channels, y, x) takes {s} as
// {s, s}; a 1-D input (batch, channels, length) takes one value each, and is pooled as planes of
// length x 1. No padding: the output is floor((in - window) / stride) + 1 along each axis.
#pragma once

#include <cstddef>
#include <string_view>

#include "cnnkit/tensor.hpp"

namespace cnnkit::detail {

// Below this many input elements the pooling loops run on one thread: starting the team costs
// more.
inline constexpr std::size_t kPoolingParallelThreshold = std::size_t{1} << 15;

struct PoolingGeometry {
  std::size_t planes;  // batch x channels
  std::size_t in_y, in_x, py, px, sy, sx, out_y, out_x;
  Shape output_shape;

  std::size_t in_plane() const { return in_y * in_x; }
  std::size_t out_plane() const { return out_y * out_x; }
};

// The constructor's argument, checked (1 or 2 values, each above 0) and returned as given.
// `what` names it in the message ("stride_shape", "pooling_shape").
Shape checked_pooling_axes(Shape shape, std::string_view component, std::string_view what);

// Throws std::invalid_argument naming `component` when the input does not fit: a rank other than
// 3 or 4, two values for a 1-D input, a window larger than the input, planes of 2^32 or more
// elements (the max pooling's argmax is 32-bit).
PoolingGeometry pooling_geometry(const Shape& input_shape, const Shape& stride_shape,
                                 const Shape& pooling_shape, std::string_view component);

}  // namespace cnnkit::detail
