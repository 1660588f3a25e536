// The options of a convolution beyond the lecture's stride: zero padding, dilation and groups,
// with PyTorch's meaning (torch.nn.Conv1d / Conv2d). The defaults are the lecture's layer:
// "same" padding, taps one pixel apart, every kernel over every channel.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/shape.hpp"

namespace cnnkit {

// Zeros before and after one spatial axis.
struct AxisPadding {
  std::size_t before = 0;
  std::size_t after = 0;

  bool operator==(const AxisPadding&) const = default;
};

struct ConvPadding {
  enum class Mode {
    kSame,      // (s-1)/2 before and s/2 after, s = d (k-1) + 1 the dilated kernel's span;
                // the output is ceil(length / stride), also with strides
    kValid,     // no padding: the kernel stays inside the input
    kExplicit,  // `sizes`
  };
  Mode mode = Mode::kSame;
  // kExplicit: one AxisPadding per spatial axis ({y} or {y, x}), or one for every axis.
  std::vector<AxisPadding> sizes;

  static ConvPadding same() { return {}; }
  static ConvPadding valid() { return {Mode::kValid, {}}; }
  static ConvPadding explicit_sizes(std::vector<AxisPadding> sizes) {
    return {Mode::kExplicit, std::move(sizes)};
  }
  // p zeros on both sides of every axis (PyTorch's padding=p).
  static ConvPadding symmetric(std::size_t p) { return explicit_sizes({{p, p}}); }

  bool operator==(const ConvPadding&) const = default;
};

// "same", "valid", "[1, 1]" or "[(0, 1), 2]" (pairs are before, after): for messages and
// summaries.
std::string to_string(const ConvPadding& padding);

struct ConvOptions {
  ConvPadding padding;
  Shape dilation{1};  // {d} for every axis or {dy, dx}; tap u reads row i*sy + u*dy - pad
  // Channels and kernels cut into `groups` slices, kernel slice g over channel slice g only;
  // both counts must be multiples of it. groups = channels is a depthwise convolution.
  std::size_t groups = 1;

  bool operator==(const ConvOptions&) const = default;
};

}  // namespace cnnkit
