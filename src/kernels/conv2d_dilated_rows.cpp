// The row view of dilated 1-D float convolutions (conv2d_dilated_rows.hpp).
#include "kernels/conv2d_dilated_rows.hpp"

#include <optional>

#include "kernels/conv2d_fast.hpp"

namespace cnnkit::kernels {

namespace {

// The k x 1 "same" convolution on L/d rows of d columns that `geometry` is, if it is one.
std::optional<ConvGeometry> row_view(const ConvGeometry& geometry) {
  const ConvGeometry g = as_rows(geometry);  // a 1-D convolution along x: one row
  const std::size_t d = g.dilation_x, k = g.kernel_x, half_span = d * (k - 1) / 2;
  const bool one_row = g.in_y == 1 && g.kernel_y == 1 && g.dilation_y == 1 &&
                       g.pad_y_before() == 0 && g.pad_y_after() == 0;
  if (!one_row || g.groups != 1 || g.stride_x != 1 || g.stride_y != 1 || d < 2 || k % 2 == 0 ||
      g.in_x % d != 0 || g.pad_x_before() != half_span || g.pad_x_after() != half_span) {
    return std::nullopt;
  }
  ConvGeometry view = g;
  view.in_y = g.in_x / d;
  view.in_x = d;
  view.kernel_y = k;
  view.kernel_x = 1;
  view.dilation_y = view.dilation_x = 1;
  view.explicit_padding = false;  // "same": (k-1)/2 rows above and below, no columns
  view.pad_top = view.pad_bottom = view.pad_left = view.pad_right = 0;
  return view;
}

}  // namespace

bool conv2d_dilated_rows_covers(const ConvGeometry& g, runtime::SimdLevel level) {
  const std::optional<ConvGeometry> view = row_view(g);
  return view && conv2d_fast_covers(*view, level);
}

bool conv2d_forward_dilated_rows(const ConvGeometry& g, const float* input, const float* weights,
                                 const float* bias, float* output, std::vector<float>& workspace,
                                 runtime::SimdLevel level) {
  const std::optional<ConvGeometry> view = row_view(g);
  return view && conv2d_forward_fast(*view, input, weights, bias, output, workspace, level);
}

bool conv2d_backward_dilated_rows(const ConvGeometry& g, const float* input, const float* weights,
                                  const float* error, float* input_error, float* weight_gradient,
                                  float* bias_gradient, std::vector<float>& workspace,
                                  runtime::SimdLevel level) {
  const std::optional<ConvGeometry> view = row_view(g);
  return view && conv2d_backward_fast(*view, input, weights, error, input_error, weight_gradient,
                                      bias_gradient, workspace, level);
}

}  // namespace cnnkit::kernels
