// The values of one layer's spec on their own, before any shape reaches the layer
// (description_checks.hpp): the fields its type uses within the description limits, and the
// fields it does not use unset.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "check.hpp"
#include "model/description_checks.hpp"

namespace cnnkit::detail {

namespace {

std::string size_list(const Shape& shape) {
  return to_string(shape);
}

// A size list of 1 or 2 entries, each in [1, kMaxModelAxis].
bool axes_ok(const Shape& shape) {
  if (shape.empty() || shape.size() > 2) return false;
  for (const std::size_t extent : shape) {
    if (extent == 0 || extent > kMaxModelAxis) return false;
  }
  return true;
}

// Conv's padding, dilation and groups within the description limits (whether they fit the
// channels and the input is the layer's to say).
template <typename Require>
void check_conv_options(const LayerSpec& spec, const Require& require) {
  const std::string axes = "1 or 2 sizes from 1 to " + std::to_string(kMaxModelAxis);
  require(axes_ok(spec.dilation), "dilation of " + axes, size_list(spec.dilation));
  require(spec.groups > 0 && spec.groups <= kMaxModelAxis,
          "groups from 1 to " + std::to_string(kMaxModelAxis), std::to_string(spec.groups));
  const std::vector<AxisPadding>& sizes = spec.padding.sizes;
  const bool sizes_ok = spec.padding.mode == ConvPadding::Mode::kExplicit
                            ? !sizes.empty() && sizes.size() <= 2 &&
                                  std::ranges::all_of(sizes,
                                                      [](const AxisPadding& axis) {
                                                        return axis.before <= kMaxModelAxis &&
                                                               axis.after <= kMaxModelAxis;
                                                      })
                            : sizes.empty();
  require(sizes_ok,
          "padding \"same\", \"valid\" or 1 or 2 axes of sizes from 0 to " +
              std::to_string(kMaxModelAxis),
          to_string(spec.padding));
}

}  // namespace

void check_spec_fields(const LayerSpec& spec, const std::string& where) {
  const bool conv = spec.type == "Conv";
  const bool pooling = spec.type == "Pooling" || spec.type == "AveragePooling";
  const bool fully_connected = spec.type == "FullyConnected";
  const bool leaky_relu = spec.type == "LeakyReLU";
  const bool batch_norm = spec.type == "BatchNorm";
  const bool dropout = spec.type == "Dropout";
  const bool normalize = spec.type == "Normalize";
  const LayerSpec defaults;
  const auto unused = [&](bool is_set, const char* field) {
    if (is_set) {
      throw std::invalid_argument(where + ": expected no " + field +
                                  " for this layer type, got one");
    }
  };
  unused(!conv && spec.kernels != 0, "kernels");
  unused(!conv && !spec.kernel.empty(), "kernel");
  unused(!pooling && !spec.window.empty(), "window");
  unused(!conv && !pooling && !spec.stride.empty(), "stride");
  unused(!conv && spec.padding != defaults.padding, "padding");
  unused(!conv && spec.dilation != defaults.dilation, "dilation");
  unused(!conv && spec.groups != defaults.groups, "groups");
  unused(!fully_connected && spec.outputs != 0, "outputs");
  unused(!leaky_relu && spec.slope != defaults.slope, "slope");
  unused(!batch_norm && spec.momentum != defaults.momentum, "momentum");
  unused(!batch_norm && spec.epsilon != defaults.epsilon, "epsilon");
  unused(!dropout && spec.p != defaults.p, "p");
  unused(!normalize && !spec.mean.empty(), "mean");
  unused(!normalize && !spec.standard_deviation.empty(), "std");
  const auto require = [&](bool ok, const std::string& expected, const std::string& got) {
    if (!ok) throw std::invalid_argument(where + ": expected " + expected + ", got " + got);
  };
  const std::string axes = "1 or 2 sizes from 1 to " + std::to_string(kMaxModelAxis);
  if (conv) {
    require(spec.kernels > 0 && spec.kernels <= kMaxModelAxis,
            "kernels from 1 to " + std::to_string(kMaxModelAxis), std::to_string(spec.kernels));
    require(axes_ok(spec.kernel), "kernel of " + axes, size_list(spec.kernel));
    require(axes_ok(spec.stride), "stride of " + axes, size_list(spec.stride));
    check_conv_options(spec, require);
  } else if (pooling) {
    require(axes_ok(spec.window), "window of " + axes, size_list(spec.window));
    require(axes_ok(spec.stride), "stride of " + axes, size_list(spec.stride));
  } else if (fully_connected) {
    require(spec.outputs > 0 && spec.outputs <= kMaxModelAxis,
            "outputs from 1 to " + std::to_string(kMaxModelAxis), std::to_string(spec.outputs));
  } else if (leaky_relu) {
    require(std::isfinite(spec.slope), "a finite slope", format_number(spec.slope));
  } else if (batch_norm) {
    require(std::isfinite(spec.momentum) && spec.momentum >= 0 && spec.momentum <= 1,
            "momentum in [0, 1]", format_number(spec.momentum));
    require(std::isfinite(spec.epsilon) && spec.epsilon > 0, "a finite epsilon above 0",
            format_number(spec.epsilon));
  } else if (dropout) {
    require(std::isfinite(spec.p) && spec.p >= 0 && spec.p < 1, "p in [0, 1)",
            format_number(spec.p));
  } else if (normalize) {
    require(!spec.mean.empty() && !spec.standard_deviation.empty(), "a mean and a std", "none");
    for (const double mean : spec.mean) {
      require(std::isfinite(mean), "finite means", format_number(mean));
    }
    for (const double std : spec.standard_deviation) {
      require(std::isfinite(std) && std > 0, "stds above 0", format_number(std));
    }
  }
}

}  // namespace cnnkit::detail
