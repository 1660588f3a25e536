// Normalize(mean, std): fixed per-channel standardisation of the input, the preprocessing a
// model was trained with kept inside the model (so a saved model predicts from raw data, as
// Keras's Normalization layer or torchvision's Normalize in front of a network):
//   forward:  y[n, c, ...] = (x[n, c, ...] - mean[c]) / std[c]
//   backward: E_{n-1}[n, c, ...] = E_n[n, c, ...] / std[c]
// The channel is axis 1 of an (N, C, ...) input and the feature of an (N, F) input; a single mean
// or std applies to every channel. Nothing is trained: the values are part of the layer's
// description, like a Conv's kernel size.
#pragma once

#include <optional>
#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class Normalize : public Layer<T> {
 public:
  // Throws std::invalid_argument unless mean and std each hold at least one value (one for every
  // channel, or one per channel: checked against the input), every mean is finite and every std
  // finite and above 0.
  Normalize(std::vector<double> mean, std::vector<double> std);

  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;

  std::string type() const override { return "Normalize"; }
  Shape output_shape(const Shape& input_shape) const override;
  std::size_t forward_flops(const Shape& input_shape) const override;

  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& standard_deviation() const { return std_; }

 private:
  // Throws unless the input has a channel axis whose size the values fit (one value, or one per
  // channel); returns the channel count.
  std::size_t check_channels(const Shape& input_shape) const;

  std::vector<double> mean_, std_;
  std::optional<Shape> input_shape_;  // of the last training-phase input
};

extern template class Normalize<float>;
extern template class Normalize<double>;

}  // namespace cnnkit
