// AveragePooling: the mean of each window, without padding, 2-D on (batch, channels, y, x) or 1-D
// on (batch, channels, length); window and stride as for Pooling (PyTorch's avg_pool1d / 2d with
// padding 0). Backward spreads every error evenly over its window, summing where windows overlap.
#pragma once

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class AveragePooling : public Layer<T> {
 public:
  // stride_shape {sy, sx} (or one value for both), pooling_shape {py, px} (or one value); a 1-D
  // input takes one value each.
  AveragePooling(Shape stride_shape, Shape pooling_shape);

  std::string type() const override { return "AveragePooling"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override;
  std::size_t forward_flops(const Shape& input_shape) const override;

  // As given to the constructor.
  const Shape& stride_shape() const { return stride_shape_; }
  const Shape& pooling_shape() const { return pooling_shape_; }

 private:
  Shape stride_shape_;   // {s} or {sy, sx}
  Shape pooling_shape_;  // {p} or {py, px}
  Shape input_shape_;    // forward's input shape (backward needs nothing else)
};

// GlobalAveragePooling: (batch, channels, ...) -> (batch, channels), the mean over every spatial
// position of each channel; backward spreads each error evenly over its channel's positions.
template <typename T>
class GlobalAveragePooling : public Layer<T> {
 public:
  std::string type() const override { return "GlobalAveragePooling"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override;
  std::size_t forward_flops(const Shape& input_shape) const override;

 private:
  Shape input_shape_;  // forward's input shape
};

extern template class AveragePooling<float>;
extern template class AveragePooling<double>;
extern template class GlobalAveragePooling<float>;
extern template class GlobalAveragePooling<double>;

}  // namespace cnnkit
