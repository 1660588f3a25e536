// Conv<T>: the lecture's convolution layer ("Convolution layer"). Cross-correlation, valid across
// channels and "same" in space, followed by subsampling with the stride:
//   forward:  out[b,k,i,j] = bias[k] + sum_{c,u,v} W[k,c,u,v] * x_pad[b,c, i*sy + u, j*sx + v]
//   backward: "the same formulas as in a fully connected layer" on the lowered input:
//             E_{n-1} = W^T E_n (upsampling followed by transposed convolution),
//             nabla W = E_n X^T (correlate the channels of E_n with those of X),
//             nabla bias[k] = sum of E_n over the batch and both spatial axes.
// The layer checks shapes, keeps what backward() needs and hands the arithmetic to
// kernels/conv2d (a 1-D convolution is the 2-D one with x = 1 and n = 1, so both share one
// kernel).
#include "cnnkit/layers/conv.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "check.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/elementwise.hpp"

namespace cnnkit {

namespace {

constexpr std::string_view kName = "Conv";

bool is_2d(const Shape& convolution_shape) {
  return convolution_shape.size() == 3;
}

bool has_zero(const Shape& shape) {
  return std::ranges::any_of(shape, [](std::size_t extent) { return extent == 0; });
}

// Checks the constructor's arguments and passes the stride shape through, so that the check
// runs before any member (the weights above all) is built from them.
Shape checked_stride_shape(Shape stride_shape, const Shape& convolution_shape,
                           std::size_t num_kernels) {
  detail::require(num_kernels > 0, kName, "at least one kernel", "num_kernels 0");
  detail::require(convolution_shape.size() == 2 || convolution_shape.size() == 3, kName,
                  "convolution shape {c, m} (1-D) or {c, m, n} (2-D)",
                  "convolution shape " + to_string(convolution_shape));
  detail::require(!has_zero(convolution_shape), kName, "nonzero channel and kernel sizes",
                  "convolution shape " + to_string(convolution_shape));
  if (is_2d(convolution_shape)) {
    detail::require(stride_shape.size() == 1 || stride_shape.size() == 2, kName,
                    "stride shape {s} or {sy, sx} for a 2-D convolution",
                    "stride shape " + to_string(stride_shape));
  } else {
    detail::require(stride_shape.size() == 1, kName, "stride shape {s} for a 1-D convolution",
                    "stride shape " + to_string(stride_shape));
  }
  detail::require(!has_zero(stride_shape), kName, "nonzero strides",
                  "stride shape " + to_string(stride_shape));
  return stride_shape;
}

// Checks padding, dilation and groups against the convolution shape (already checked) and the
// number of kernels.
ConvOptions checked_options(ConvOptions options, const Shape& convolution_shape,
                            std::size_t num_kernels) {
  const std::size_t axes = convolution_shape.size() - 1;
  const std::string axes_text =
      axes == 2 ? "1 or 2 values for a 2-D convolution" : "1 value for a 1-D convolution";
  detail::require(!options.dilation.empty() && options.dilation.size() <= axes, kName,
                  "dilation of " + axes_text, "dilation " + to_string(options.dilation));
  detail::require(!has_zero(options.dilation), kName, "dilations of at least 1",
                  "dilation " + to_string(options.dilation));
  const ConvPadding& padding = options.padding;
  if (padding.mode == ConvPadding::Mode::kExplicit) {
    detail::require(!padding.sizes.empty() && padding.sizes.size() <= axes, kName,
                    "explicit padding of " + axes_text, "padding " + to_string(padding));
  } else {
    detail::require(padding.sizes.empty(), kName, "no padding sizes with \"same\" or \"valid\"",
                    "padding sizes " + to_string(ConvPadding::explicit_sizes(padding.sizes)));
  }
  const std::size_t channels = convolution_shape[0], groups = options.groups;
  detail::require(groups > 0, kName, "at least one group", "groups 0");
  if (channels % groups != 0) {
    detail::fail(kName, "groups dividing the " + std::to_string(channels) + " input channels",
                 "groups " + std::to_string(groups));
  }
  if (num_kernels % groups != 0) {
    detail::fail(kName, "groups dividing the " + std::to_string(num_kernels) + " kernels",
                 "groups " + std::to_string(groups));
  }
  return options;
}

// (num_kernels, c/groups, m[, n]): one kernel over its group's channels per output map.
Shape weights_shape(const Shape& convolution_shape, std::size_t num_kernels,
                    const ConvOptions& options) {
  Shape shape{num_kernels, convolution_shape[0] / options.groups};
  shape.insert(shape.end(), convolution_shape.begin() + 1, convolution_shape.end());
  return shape;
}

// The kernels' view of an (already checked) input shape; 1-D means x = 1, n = 1, sx = 1.
kernels::ConvGeometry geometry(const Shape& input_shape, const Shape& stride_shape,
                               const Shape& convolution_shape, std::size_t num_kernels,
                               const ConvOptions& options) {
  const bool two_d = is_2d(convolution_shape);
  kernels::ConvGeometry g{
      .batch = input_shape[0],
      .channels = convolution_shape[0],
      .in_y = input_shape[2],
      .in_x = two_d ? input_shape[3] : 1,
      .kernels = num_kernels,
      .kernel_y = convolution_shape[1],
      .kernel_x = two_d ? convolution_shape[2] : 1,
      .stride_y = stride_shape[0],
      // A single stride (dilation, padding) value for a 2-D convolution means both axes.
      .stride_x = two_d ? stride_shape.back() : 1,
      .dilation_y = options.dilation[0],
      .dilation_x = two_d ? options.dilation.back() : 1,
      .groups = options.groups,
  };
  const ConvPadding& padding = options.padding;
  if (padding.mode != ConvPadding::Mode::kSame) {
    g.explicit_padding = true;  // "valid": zeros of it
    if (padding.mode == ConvPadding::Mode::kExplicit) {
      g.pad_top = padding.sizes[0].before;
      g.pad_bottom = padding.sizes[0].after;
      if (two_d) {
        g.pad_left = padding.sizes.back().before;
        g.pad_right = padding.sizes.back().after;
      }
    }
  }
  return g;
}

// Uniform in [0, 1) from the library's seeded engine (the lecture's "Uniform" initializer).
template <typename T>
Tensor<T> uniform_random(const Shape& shape) {
  UniformRandom<T> uniform;
  return uniform.initialize(shape, 0, 0);  // the uniform initializer ignores the fans
}

// The dilated kernel must fit the padded input along each axis (PyTorch refuses it likewise):
// otherwise there would be no output position.
void require_span_fits(std::size_t length, std::size_t before, std::size_t after,
                       std::size_t kernel, std::size_t dilation, const char* axis) {
  const std::size_t span = dilation * (kernel - 1) + 1;
  if (length + before + after < span) {
    detail::fail(kName,
                 std::string("a kernel span of at most the padded input along ") + axis +
                     ", input " + std::to_string(length) + " + padding " + std::to_string(before) +
                     " + " + std::to_string(after) + " = " +
                     std::to_string(length + before + after),
                 "kernel " + std::to_string(kernel) + " with dilation " + std::to_string(dilation) +
                     " spanning " + std::to_string(span));
  }
}

}  // namespace

std::string to_string(const ConvPadding& padding) {
  if (padding.mode == ConvPadding::Mode::kSame) return "\"same\"";
  if (padding.mode == ConvPadding::Mode::kValid) return "\"valid\"";
  std::string text = "[";
  for (const AxisPadding& axis : padding.sizes) {
    if (text.size() > 1) text += ", ";
    if (axis.before == axis.after) {
      text += std::to_string(axis.before);
    } else {
      text += '[';
      text += std::to_string(axis.before);
      text += ", ";
      text += std::to_string(axis.after);
      text += ']';
    }
  }
  return text + "]";
}

template <typename T>
Conv<T>::Conv(Shape stride_shape, Shape convolution_shape, std::size_t num_kernels,
              ConvOptions options)
    : stride_shape_(checked_stride_shape(std::move(stride_shape), convolution_shape, num_kernels)),
      convolution_shape_(std::move(convolution_shape)),
      num_kernels_(num_kernels),
      options_(checked_options(std::move(options), convolution_shape_, num_kernels_)),
      weights_("weights",
               uniform_random<T>(weights_shape(convolution_shape_, num_kernels_, options_))),
      bias_("bias", uniform_random<T>({num_kernels_})) {}

template <typename T>
Shape Conv<T>::output_shape(const Shape& input_shape) const {
  const bool two_d = is_2d(convolution_shape_);
  if (two_d) {
    detail::require(input_shape.size() == 4, kName,
                    "input of rank 4 (batch, channels, y, x) for a 2-D convolution", input_shape);
  } else {
    detail::require(input_shape.size() == 3, kName,
                    "input of rank 3 (batch, channels, y) for a 1-D convolution", input_shape);
  }
  const std::size_t channels = convolution_shape_[0];
  if (input_shape[1] != channels) {
    detail::fail(kName, "input with " + std::to_string(channels) + " channels (axis 1)",
                 to_string(input_shape));
  }
  detail::require(std::all_of(input_shape.begin() + 2, input_shape.end(),
                              [](std::size_t extent) { return extent > 0; }),
                  kName, "input with nonzero spatial sizes", input_shape);
  const kernels::ConvGeometry g =
      geometry(input_shape, stride_shape_, convolution_shape_, num_kernels_, options_);
  require_span_fits(g.in_y, g.pad_y_before(), g.pad_y_after(), g.kernel_y, g.dilation_y, "y");
  if (two_d) {
    require_span_fits(g.in_x, g.pad_x_before(), g.pad_x_after(), g.kernel_x, g.dilation_x, "x");
  }
  Shape out{g.batch, g.kernels, g.out_y()};
  if (two_d) out.push_back(g.out_x());
  return out;
}

template <typename T>
std::size_t Conv<T>::forward_flops(const Shape& input_shape) const {
  output_shape(input_shape);  // same checks as forward()
  return geometry(input_shape, stride_shape_, convolution_shape_, num_kernels_, options_)
      .forward_flops();
}

template <typename T>
Tensor<T> Conv<T>::compute_output(const Tensor<T>& input) {
  // Every element is written by the kernel (a recycled buffer in the steady state).
  Tensor<T> output = this->new_output(output_shape(input.shape()));
  // The kernels trust these shapes; parameters() hands out the tensors, so check them here.
  detail::require_shape(weights_.value.shape(),
                        weights_shape(convolution_shape_, num_kernels_, options_), kName,
                        "weights");
  detail::require_shape(bias_.value.shape(), {num_kernels_}, kName, "bias");
  const kernels::ConvGeometry g =
      geometry(input.shape(), stride_shape_, convolution_shape_, num_kernels_, options_);
  // The fused ReLU's mask is kept for backward in the training phase only.
  masked_ = fused_relu_ && !this->testing_phase();
  if (masked_) passes_.resize(output.size());  // grows once; a steady batch shape reuses it
  const kernels::ConvEpilogue epilogue{.relu = fused_relu_,
                                       .passes = masked_ ? passes_.data() : nullptr};
  kernels::conv2d_forward(g, input.data(), weights_.value.data(), bias_.value.data(), output.data(),
                          workspace_, epilogue);
  return output;
}

template <typename T>
Tensor<T> Conv<T>::forward(const Tensor<T>& input) {
  Tensor<T> output = compute_output(input);
  this->keep_input(input_, input);
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> Conv<T>::forward_handed_over(Tensor<T>&& input) {
  Tensor<T> output = compute_output(input);
  this->keep_input(input_, std::move(input));
  return output;
}

template <typename T>
void Conv<T>::require_error_shape(const Tensor<T>& error_tensor) const {
  detail::require_shape(error_tensor.shape(), output_shape(input_.shape()), kName, "error tensor");
}

template <typename T>
Tensor<T> Conv<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();
  Tensor<T> input_error;
  if (masked_) {
    require_error_shape(error_tensor);
    masked_error_ = Tensor<T>::uninitialized(error_tensor.shape(), std::move(masked_error_));
    kernels::relu_backward(passes_.data(), error_tensor.data(), masked_error_.data(),
                           error_tensor.size());
    input_error = compute_gradients(masked_error_);
  } else {
    input_error = compute_gradients(error_tensor);
  }
  this->note_backward();
  return input_error;
}

template <typename T>
Tensor<T> Conv<T>::backward_handed_over(Tensor<T>&& error_tensor) {
  if (masked_) {
    // The fused ReLU's backward in place: the error of the convolution's own output.
    require_error_shape(error_tensor);
    kernels::relu_backward(passes_.data(), error_tensor.data(), error_tensor.data(),
                           error_tensor.size());
  }
  Tensor<T> input_error = compute_gradients(error_tensor);
  this->recycle_error(std::move(error_tensor));
  return input_error;
}

template <typename T>
Tensor<T> Conv<T>::compute_gradients(const Tensor<T>& error_tensor) {
  require_error_shape(error_tensor);
  const Shape& w_shape = weights_.value.shape();
  detail::require_shape(w_shape, weights_shape(convolution_shape_, num_kernels_, options_), kName,
                        "weights");
  if (weights_.gradient.shape() != w_shape) weights_.gradient = Tensor<T>(w_shape);
  if (bias_.gradient.shape() != bias_.value.shape())
    bias_.gradient = Tensor<T>(bias_.value.shape());

  const kernels::ConvGeometry g =
      geometry(input_.shape(), stride_shape_, convolution_shape_, num_kernels_, options_);
  // Written in full, unless the layer below needs no error (input_error_needed()).
  Tensor<T> input_error = this->new_input_error(input_.shape());
  T* const input_error_data = this->input_error_needed() ? input_error.data() : nullptr;
  // All three gradients use the weights forward() used: the update comes only afterwards.
  kernels::conv2d_backward(g, input_.data(), weights_.value.data(), error_tensor.data(),
                           input_error_data, weights_.gradient.data(), bias_.gradient.data(),
                           workspace_);
  // Layer::apply_updates() without building the parameters() list (no allocation per step).
  if (!this->updates_deferred()) {
    weights_.apply_update();
    bias_.apply_update();
  }
  return input_error;
}

template <typename T>
void Conv<T>::initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) {
  // Lecture: fan_in = input channels x kernel height x kernel width,
  //          fan_out = output channels x kernel height x kernel width;
  // with groups a kernel sees only its group's channels (PyTorch's fans likewise).
  const std::size_t kernel_area =
      convolution_shape_[1] * (is_2d(convolution_shape_) ? convolution_shape_[2] : 1);
  const std::size_t fan_in = convolution_shape_[0] / options_.groups * kernel_area;
  const std::size_t fan_out = num_kernels_ * kernel_area;
  const Shape w_shape = weights_shape(convolution_shape_, num_kernels_, options_);
  Tensor<T> weights = weights_init.initialize(w_shape, fan_in, fan_out);
  Tensor<T> bias = bias_init.initialize({num_kernels_}, fan_in, fan_out);
  // A user's initializer may get the shape wrong; refuse before changing anything.
  detail::require_shape(weights.shape(), w_shape, kName, "weights from the initializer");
  detail::require_shape(bias.shape(), {num_kernels_}, kName, "bias from the initializer");
  weights_.value = std::move(weights);
  bias_.value = std::move(bias);
}

template <typename T>
void Conv<T>::set_weights(const Tensor<T>& weights) {
  detail::require_shape(weights.shape(), weights_shape(convolution_shape_, num_kernels_, options_),
                        kName, "weights");
  weights_.value = weights;
}

template <typename T>
void Conv<T>::set_bias(const Tensor<T>& bias) {
  detail::require_shape(bias.shape(), {num_kernels_}, kName, "bias");
  bias_.value = bias;
}

template class Conv<float>;
template class Conv<double>;

}  // namespace cnnkit
