// Pooling: max pooling without padding (lecture: "Pooling layer"), 2-D on (batch, channels, y, x)
// or 1-D on (batch, channels, length). Output floor((y - py)/sy) + 1 by floor((x - px)/sx) + 1;
// forward stores where each maximum was (the first in row-major order on ties) and backward
// routes every error there, summing where windows overlap ("winner takes it all").
#pragma once

#include <cstdint>

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

  // As given to the constructor.
  const Shape& stride_shape() const { return stride_shape_; }
  const Shape& pooling_shape() const { return pooling_shape_; }

 private:
  Shape stride_shape_;   // {s} or {sy, sx}
  Shape pooling_shape_;  // {p} or {py, px}
  Shape input_shape_;    // forward's input shape
  // Per output element: the flat index of its maximum inside its input plane (training phase).
  std::vector<std::uint32_t> argmax_;
};

extern template class Pooling<float>;
extern template class Pooling<double>;

}  // namespace cnnkit
