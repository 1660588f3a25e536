#include "layers/pooling_window.hpp"

#include <cstdint>
#include <limits>
#include <string>

#include "check.hpp"

namespace cnnkit::detail {

Shape checked_pooling_axes(Shape shape, std::string_view component, std::string_view what) {
  bool valid = shape.size() == 1 || shape.size() == 2;
  for (const std::size_t extent : shape) valid = valid && extent > 0;
  if (!valid) {
    fail(component, std::string(what) + " of 1 or 2 values, each above 0", to_string(shape));
  }
  return shape;
}

PoolingGeometry pooling_geometry(const Shape& input_shape, const Shape& stride_shape,
                                 const Shape& pooling_shape, std::string_view component) {
  const bool one_value = stride_shape.size() == 1 && pooling_shape.size() == 1;
  if (input_shape.size() == 3) {
    // Built only when the check fails: a passing check allocates nothing.
    if (!one_value) {
      fail(component,
           "input of rank 4 (batch, channels, y, x) for the pooling shape " +
               to_string(pooling_shape) + " and stride shape " + to_string(stride_shape) +
               " (a 1-D input (batch, channels, length) takes one value each)",
           to_string(input_shape));
    }
  } else {
    require(input_shape.size() == 4, component,
            "input of rank 3 (batch, channels, length) or 4 (batch, channels, y, x)", input_shape);
  }
  const bool two_d = input_shape.size() == 4;
  PoolingGeometry g{};
  g.planes = input_shape[0] * input_shape[1];
  g.in_y = input_shape[2];
  g.in_x = two_d ? input_shape[3] : 1;
  g.py = pooling_shape[0];
  g.px = two_d ? pooling_shape.back() : 1;
  g.sy = stride_shape[0];
  g.sx = two_d ? stride_shape.back() : 1;
  if (g.in_y < g.py || g.in_x < g.px) {
    const Shape window = two_d ? Shape{g.py, g.px} : Shape{g.py};
    fail(component, "input planes at least as large as the pooling shape " + to_string(window),
         to_string(input_shape));
  }
  // Max pooling stores positions inside one input plane as 32-bit indices.
  require(g.in_y * g.in_x <= std::numeric_limits<std::uint32_t>::max(), component,
          "input planes of at most 2^32 - 1 elements", input_shape);
  g.out_y = (g.in_y - g.py) / g.sy + 1;
  g.out_x = (g.in_x - g.px) / g.sx + 1;
  g.output_shape = {input_shape[0], input_shape[1], g.out_y};
  if (two_d) g.output_shape.push_back(g.out_x);
  return g;
}

}  // namespace cnnkit::detail
