// Losses close the network: forward() turns a prediction and a label into one number,
// backward() gives the error tensor dLoss/dPrediction that starts the backward pass.
#pragma once

#include <string>

#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string type() const = 0;
  // prediction and label have the same shape.
  virtual T forward(const Tensor<T>& prediction, const Tensor<T>& label) = 0;
  // Uses the prediction that forward() saw; label must have its shape.
  virtual Tensor<T> backward(const Tensor<T>& label) = 0;
};

// Cross-entropy for one-hot labels of shape (batch, categories):
// L = sum over the batch of -log(y_k + eps) where label_k = 1; E = -label / (y + eps),
// eps = std::numeric_limits<T>::epsilon() so log(0) never happens.
template <typename T>
class CrossEntropyLoss : public Loss<T> {
 public:
  std::string type() const override { return "CrossEntropyLoss"; }
  T forward(const Tensor<T>& prediction, const Tensor<T>& label) override;
  Tensor<T> backward(const Tensor<T>& label) override;

 private:
  Tensor<T> prediction_;  // forward's prediction
};

// L = sum (prediction - label)^2; E = 2 (prediction - label). Any shape (used by gradient checks).
template <typename T>
class L2Loss : public Loss<T> {
 public:
  std::string type() const override { return "L2Loss"; }
  T forward(const Tensor<T>& prediction, const Tensor<T>& label) override;
  Tensor<T> backward(const Tensor<T>& label) override;

 private:
  Tensor<T> prediction_;
};

extern template class CrossEntropyLoss<float>;
extern template class CrossEntropyLoss<double>;
extern template class L2Loss<float>;
extern template class L2Loss<double>;

}  // namespace cnnkit
