// BatchNorm: batch normalisation per channel of (batch, channels, ...) inputs and per feature of
// (batch, features) inputs, with PyTorch's momentum and epsilon (BatchNorm1d / 2d / 3d):
//   training: y = scale * (x - mean) / sqrt(var + epsilon) + shift, mean and var (biased) over the
//             batch and the spatial axes of each channel; then
//             running_mean <- (1 - momentum) running_mean + momentum mean,
//             running_var  <- (1 - momentum) running_var + momentum var M / (M - 1)  (unbiased,
//             M values per channel)
//   testing:  the same with running_mean and running_var.
// scale and shift are trained (Parameters "scale" and "shift"); the running statistics are
// buffers(), state that is saved but not trained. Training on a batch with one value per channel
// (M = 1, no variance) is refused, as in PyTorch.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class BatchNorm : public Layer<T> {
 public:
  // Throws std::invalid_argument unless channels > 0, momentum is in [0, 1] and epsilon > 0 (both
  // finite). Starts as PyTorch does: scale 1, shift 0, running mean 0, running variance 1.
  explicit BatchNorm(std::size_t channels, double momentum = 0.1, double epsilon = 1e-5);

  std::string type() const override { return "BatchNorm"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override;
  std::size_t forward_flops(const Shape& input_shape) const override;
  std::vector<Parameter<T>*> parameters() override { return {&scale_, &shift_}; }
  // {"running_mean", "running_var"}, each (channels).
  std::vector<LayerBuffer<T>> buffers() override;
  // Puts the layer back to its start (scale 1, shift 0, running mean 0, running variance 1) and
  // ignores both initializers: a network's He or Constant(0.1) initializers are meant for weights
  // and biases, while batch norm starts as the identity on normalised values, as in PyTorch.
  void initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) override;

  std::size_t channels() const { return channels_; }
  double momentum() const { return momentum_; }
  double epsilon() const { return epsilon_; }
  const Tensor<T>& running_mean() const { return running_mean_; }
  const Tensor<T>& running_var() const { return running_var_; }

  // A ReLU fused after the normalisation (off by default; the graph engine turns it on for a
  // BatchNorm whose output only a ReLU reads, and that ReLU then passes values and errors
  // through): forward() returns max(0, y) and backward() takes the error of that output, as the
  // pair BatchNorm -> ReLU would, with the same values to the bit. Not saved in model files.
  void set_fused_relu(bool fused) { fused_relu_ = fused; }
  bool fused_relu() const { return fused_relu_; }

  // Synchronised statistics (batch_norm_sync.cpp; GroupedStep, docs/DISTRIBUTED.md): one batch
  // spread over several training passes (fixed groups of samples, on several ranks) normalised
  // with the statistics of the whole batch. Per pass, in this order:
  // - partial_moments(input, sums): this part's sums (moments_size() of them), in double, per
  //   channel c shifted by the running mean K_c (the same on every rank and group, so the parts
  //   add up; the shift keeps the cancellation in the variance small): sums[c] = sum (x - K_c),
  //   sums[C + c] = sum (x - K_c)^2, and sums[2 C] the values per channel;
  // - set_batch_moments(sums): the sums over the whole batch. Updates the running statistics
  //   with the batch's mean and unbiased variance, and the next training forward() normalises
  //   with the batch's mean and biased variance;
  // - after that forward: partial_error_sums(error_tensor, sums): sum E and sum E x_hat per
  //   channel of this part, then set_batch_error_sums(sums) with the whole batch's, and the next
  //   backward() computes the input error from them (the gradients of scale and shift stay this
  //   part's own sums, to be added up as every other gradient).
  // Without set_batch_moments a forward() uses its own batch's statistics, as always.
  std::size_t moments_size() const { return 2 * channels_ + 1; }
  std::size_t error_sums_size() const { return 2 * channels_; }
  void partial_moments(const Tensor<T>& input, std::span<double> sums) const;
  void set_batch_moments(std::span<const double> sums);
  void partial_error_sums(const Tensor<T>& error_tensor, std::span<double> sums);
  void set_batch_error_sums(std::span<const double> sums);
  // Forgets moments set for a forward() that does not come (a rank without samples in a step).
  void forget_batch_moments() { sync_.moments_set = false; }

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override;

 private:
  Tensor<T> compute_output(const Tensor<T>& input);  // forward() without keeping the input
  void check_state_shapes() const;  // parameters() and buffers() hand out the tensors

  std::size_t channels_;
  double momentum_;
  double epsilon_;
  bool fused_relu_ = false;
  Parameter<T> scale_;  // (channels), gamma
  Parameter<T> shift_;  // (channels), beta
  Tensor<T> running_mean_;
  Tensor<T> running_var_;

  Tensor<T> input_;              // forward's input, for backward
  std::vector<double> mean_;     // the last training batch's mean per channel
  std::vector<double> inv_std_;  // and 1 / sqrt(var + epsilon)

  // The synchronised passes (see set_batch_moments): the batch's values per channel, whether
  // the next forward() uses them, whether the last one did, and the error sums for backward().
  struct Synchronisation {
    double count = 0;
    std::vector<double> mean, deviation, error_sums, part_error_sums;  // sqrt(var + epsilon)
    bool moments_set = false, forward_synchronised = false, error_sums_set = false;
  };
  Tensor<T> synchronised_output(const Tensor<T>& input);
  Tensor<T> synchronised_backward(const Tensor<T>& error_tensor);
  // e[i] of channel c, or 0 where the fused ReLU (if any) did not pass the output.
  T passed_error(const T* e, std::size_t c, std::size_t i) const;
  Synchronisation sync_;
  // Workspaces, grown once: two sums per plane (sample and channel), forward's y = a x + b per
  // channel, backward's three coefficients per channel.
  std::vector<double> plane_sums_;
  std::vector<T> factor_;
  std::vector<T> offset_;
  std::vector<double> coefficients_;
};

extern template class BatchNorm<float>;
extern template class BatchNorm<double>;

}  // namespace cnnkit
