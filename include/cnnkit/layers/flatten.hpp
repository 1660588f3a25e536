// Flatten: (batch, d1, d2, ...) -> (batch, d1*d2*...), and back in backward (lecture: "Flatten").
#pragma once

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class Flatten : public Layer<T> {
 public:
  std::string type() const override { return "Flatten"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  Shape output_shape(const Shape& input_shape) const override;

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override;
  Tensor<T> backward_handed_over(Tensor<T>&& error_tensor) override;

 private:
  Shape input_shape_;  // forward's input shape, restored by backward
};

extern template class Flatten<float>;
extern template class Flatten<double>;

}  // namespace cnnkit
