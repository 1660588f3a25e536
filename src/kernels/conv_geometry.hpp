// The one place that says how big a convolution's padding and output are; used by the Conv
// layer, its kernels and the tests alike. 1-D convolutions are 2-D ones with x = 1, n = 1.
#pragma once

#include <cstddef>
#include <utility>

namespace cnnkit::kernels {

struct ConvGeometry {
  std::size_t batch;     // N
  std::size_t channels;  // C (c of the convolution shape): all input channels, of every group
  std::size_t in_y;      // Y
  std::size_t in_x;      // X (1 for 1-D)
  std::size_t kernels;   // K (num_kernels): all kernels, of every group
  std::size_t kernel_y;  // m
  std::size_t kernel_x;  // n (1 for 1-D)
  std::size_t stride_y;  // sy
  std::size_t stride_x;  // sx (1 for 1-D)
  // Kernel taps lie dilation apart: tap u reads input row i*sy + u*dy - pad_y_before.
  std::size_t dilation_y = 1;
  std::size_t dilation_x = 1;
  // Channels and kernels are cut into `groups` equal slices; kernel slice g sees only channel
  // slice g, so weights are (K, C/groups, m, n). groups = C is a depthwise convolution.
  std::size_t groups = 1;
  // Zero padding: "same" unless explicit_padding, then pad_top / pad_bottom / pad_left /
  // pad_right zeros around each plane ("valid" is explicit padding of zeros).
  bool explicit_padding = false;
  std::size_t pad_top = 0;
  std::size_t pad_bottom = 0;
  std::size_t pad_left = 0;
  std::size_t pad_right = 0;

  // The rows and columns one kernel spans: d (k - 1) + 1.
  std::size_t span_y() const { return dilation_y * (kernel_y - 1) + 1; }
  std::size_t span_x() const { return dilation_x * (kernel_x - 1) + 1; }
  // "same" zero padding: (span-1)/2 before and span/2 after each spatial axis.
  std::size_t pad_y_before() const { return explicit_padding ? pad_top : (span_y() - 1) / 2; }
  std::size_t pad_x_before() const { return explicit_padding ? pad_left : (span_x() - 1) / 2; }
  std::size_t pad_y_after() const { return explicit_padding ? pad_bottom : span_y() / 2; }
  std::size_t pad_x_after() const { return explicit_padding ? pad_right : span_x() / 2; }
  // Subsampling with the stride from index 0: "same" gives ceil(Y / sy) by ceil(X / sx), which is
  // the general floor((Y + pads - span) / sy) + 1 for its pads.
  std::size_t out_y() const {
    return out_length(in_y, pad_y_before() + pad_y_after(), span_y(), stride_y);
  }
  std::size_t out_x() const {
    return out_length(in_x, pad_x_before() + pad_x_after(), span_x(), stride_x);
  }

  // Channels and kernels of one group.
  std::size_t group_channels() const { return channels / groups; }
  std::size_t group_kernels() const { return kernels / groups; }
  // Today's convolution: one group, no dilation, "same" padding (written or not).
  bool is_dense_same() const {
    return groups == 1 && dilation_y == 1 && dilation_x == 1 &&
           pad_y_before() == (kernel_y - 1) / 2 && pad_y_after() == kernel_y / 2 &&
           pad_x_before() == (kernel_x - 1) / 2 && pad_x_after() == kernel_x / 2;
  }

  std::size_t input_size() const { return batch * channels * in_y * in_x; }
  std::size_t output_size() const { return batch * kernels * out_y() * out_x(); }
  std::size_t weights_size() const { return kernels * group_channels() * kernel_y * kernel_x; }
  // 2 * N*K*(C/groups)*m*n*Y'*X': how docs/WORKLOADS.md counts a forward pass.
  std::size_t forward_flops() const {
    return 2 * batch * kernels * group_channels() * kernel_y * kernel_x * out_y() * out_x();
  }

  // floor((length + pads - span) / stride) + 1, or 0 when the span does not fit.
  static std::size_t out_length(std::size_t length, std::size_t pads, std::size_t span,
                                std::size_t stride) {
    return length + pads < span ? 0 : (length + pads - span) / stride + 1;
  }
};

// 1-D convolutions along y with x = 1 are the same memory as along x with y = 1: run them as
// rows, where the kernels find their vector loops and register blocks.
inline ConvGeometry as_rows(ConvGeometry g) {
  if (g.in_x == 1 && g.kernel_x == 1 && g.stride_x == 1 && g.pad_x_before() == 0 &&
      g.pad_x_after() == 0 && g.in_y > 1) {
    std::swap(g.in_y, g.in_x);
    std::swap(g.kernel_y, g.kernel_x);
    std::swap(g.stride_y, g.stride_x);
    std::swap(g.dilation_y, g.dilation_x);
    std::swap(g.pad_top, g.pad_left);
    std::swap(g.pad_bottom, g.pad_right);
  }
  return g;
}

}  // namespace cnnkit::kernels
