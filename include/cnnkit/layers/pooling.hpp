// Pooling: max pooling without padding (lecture: "Pooling layer"), 2-D on (batch, channels, y, x)
// or 1-D on (batch, channels, length). Output floor((y - py)/sy) + 1 by floor((x - px)/sx) + 1;
// forward stores where each maximum was (the first in row-major order on ties) and backward
// routes every error there, summing where windows overlap ("winner takes it all").
#pragma once

#include <cstdint>
#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class Pooling : public Layer<T> {
 public:
  // stride_shape {sy, sx} (or one value for both), pooling_shape {py, px} (or one value); a 1-D
  // input takes one value each.
  Pooling(Shape stride_shape, Shape pooling_shape);

  std::string type() const override { return "Pooling"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override;

  // A ReLU fused before the pooling (off by default; the graph engine turns it on for a Pooling
  // that alone reads a ReLU that it cannot fuse into its source, and that ReLU then passes values
  // and errors through): forward() pools its input and returns max(0, each window's maximum),
  // backward() routes an error only where that maximum is above 0. The first maximum of a window
  // above 0 is the same before and after a ReLU, so these are the values of the pair ReLU ->
  // Pooling to the bit (inputs with NaN aside), without the ReLU's passes over the larger input.
  // The mask is kept as one byte per output.
  void set_fused_relu(bool fused) { fused_relu_ = fused; }
  bool fused_relu() const { return fused_relu_; }

  // As given to the constructor.
  const Shape& stride_shape() const { return stride_shape_; }
  const Shape& pooling_shape() const { return pooling_shape_; }

 private:
  Shape stride_shape_;   // {s} or {sy, sx}
  Shape pooling_shape_;  // {p} or {py, px}
  Shape input_shape_;    // forward's input shape
  // Per output element: the flat index of its maximum inside its input plane (training phase).
  std::vector<std::uint32_t> argmax_;
  bool fused_relu_ = false;
  bool masked_ = false;  // whether the last forward() kept passes_
  // The fused ReLU's mask per output of the last training-phase forward(): 1 where the maximum
  // is above 0.
  std::vector<std::uint8_t> passes_;
};

extern template class Pooling<float>;
extern template class Pooling<double>;

}  // namespace cnnkit
