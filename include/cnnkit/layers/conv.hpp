// Conv: multi-channel cross-correlation (lecture: "Convolution layer"), 1-D or 2-D.
// Valid across channels, "same" in space by default: each spatial axis of kernel size k is zero
// padded with (k-1)/2 before and k/2 after, then subsampled with the stride starting at index 0,
// so an input (batch, c, y[, x]) gives (batch, num_kernels, ceil(y/sy)[, ceil(x/sx)]).
// ConvOptions (conv_options.hpp) choose other padding, dilation and groups as PyTorch's Conv2d
// does; then an axis of length L, pads p + q, kernel k and dilation d has
// floor((L + p + q - d (k-1) - 1) / s) + 1 outputs.
#pragma once

#include <cstdint>
#include <vector>

#include "cnnkit/layer.hpp"
#include "cnnkit/layers/conv_options.hpp"

namespace cnnkit {

template <typename T>
class Conv : public Layer<T> {
 public:
  // stride_shape {s} (1-D) or {sy, sx} (2-D; a single value means both axes);
  // convolution_shape {c, m} (1-D) or {c, m, n} (2-D), c the input channels (of all groups).
  // Weights and bias start uniform in [0, 1).
  Conv(Shape stride_shape, Shape convolution_shape, std::size_t num_kernels,
       ConvOptions options = {});

  std::string type() const override { return "Conv"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override;
  std::size_t forward_flops(const Shape& input_shape) const override;
  std::vector<Parameter<T>*> parameters() override { return {&weights_, &bias_}; }
  // fan_in = (c/groups)*m*n, fan_out = num_kernels*m*n (PyTorch's fans).
  void initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) override;

  const Shape& stride_shape() const { return stride_shape_; }
  const Shape& convolution_shape() const { return convolution_shape_; }
  std::size_t num_kernels() const { return num_kernels_; }
  const ConvOptions& options() const { return options_; }

  const Tensor<T>& weights() const { return weights_.value; }  // (num_kernels, c/groups, m[, n])
  const Tensor<T>& bias() const { return bias_.value; }        // (num_kernels)
  void set_weights(const Tensor<T>& weights);
  void set_bias(const Tensor<T>& bias);
  const Tensor<T>& gradient_weights() const { return weights_.gradient; }
  const Tensor<T>& gradient_bias() const { return bias_.gradient; }

  // A ReLU fused after the convolution (off by default; Graph::infer turns it on while it runs
  // for a Conv whose output only a ReLU reads, that ReLU then passing values through, and for a
  // Conv with a BatchNorm folded into it and a ReLU fused into that): forward() returns
  // max(0, y), applied by the kernels as they store y, and backward() takes the error of that
  // output, as the pair Conv -> ReLU would, with the same values to the bit. The training phase
  // keeps the mask (y > 0) as one byte per element, written by the same kernels. Not part of
  // the model: the graph chooses it.
  void set_fused_relu(bool fused) { fused_relu_ = fused; }
  bool fused_relu() const { return fused_relu_; }

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override;
  Tensor<T> backward_handed_over(Tensor<T>&& error_tensor) override;

 private:
  Shape stride_shape_;       // {s} or {sy, sx}, as given
  Shape convolution_shape_;  // {c, m} or {c, m, n}
  std::size_t num_kernels_;
  ConvOptions options_;
  Parameter<T> weights_;
  Parameter<T> bias_;
  Tensor<T> compute_output(const Tensor<T>& input);  // forward() without keeping the input
  // backward() after the checks of the calls' order, from the error of the convolution's own
  // output (the fused ReLU's mask applied).
  Tensor<T> compute_gradients(const Tensor<T>& error_tensor);
  // The error tensor's shape checked against the last forward()'s output.
  void require_error_shape(const Tensor<T>& error_tensor) const;

  Tensor<T> input_;  // forward's input, for the weight gradient
  bool fused_relu_ = false;
  bool masked_ = false;               // whether the last forward() kept passes_
  std::vector<std::uint8_t> passes_;  // the fused ReLU's mask: 1 where the output > 0
  Tensor<T> masked_error_;            // backward(const&)'s error with the mask applied
  // Kernel workspaces (lowered input columns and the like), kept between calls so that a
  // steady-state training step allocates nothing.
  std::vector<T> workspace_;
};

extern template class Conv<float>;
extern template class Conv<double>;

}  // namespace cnnkit
