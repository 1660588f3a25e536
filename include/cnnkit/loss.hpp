// Losses close the network: forward() turns a prediction and a label into one number,
// backward() gives the error tensor dLoss/dPrediction that starts the backward pass.
#pragma once

#include <string>
#include <utility>

#include "cnnkit/spare_buffer.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string type() const = 0;
  // prediction and label have the same shape.
  virtual T forward(const Tensor<T>& prediction, const Tensor<T>& label) = 0;
  // The same for a prediction the caller hands over (the network does): a loss may keep it
  // instead of a copy. By default the const& form.
  virtual T forward(Tensor<T>&& prediction, const Tensor<T>& label) {
    return forward(std::as_const(prediction), label);
  }
  // Uses the prediction that forward() saw; label must have its shape.
  virtual Tensor<T> backward(const Tensor<T>& label) = 0;

 protected:
  Loss() = default;
  Loss(const Loss&) = default;
  Loss& operator=(const Loss&) = default;
  Loss(Loss&&) = default;
  Loss& operator=(Loss&&) = default;

  // For the built-in losses: forward()'s prediction, kept for backward() (a copy, or the handed-
  // over tensor itself, whose predecessor's buffer then takes the next error tensor), and that
  // error tensor (values indeterminate, to be written in full). A loss without a forward() yet
  // holds the default tensor, of shape [0].
  void keep_prediction(const Tensor<T>& prediction) { prediction_ = prediction; }
  void keep_prediction(Tensor<T>&& prediction) {
    error_spare_.give(std::move(prediction_));
    prediction_ = std::move(prediction);
  }
  const Tensor<T>& kept_prediction() const { return prediction_; }
  Tensor<T> new_error_tensor() { return error_spare_.take(prediction_.shape()); }

 private:
  Tensor<T> prediction_;
  SpareBuffer<T> error_spare_;
};

// Cross-entropy for one-hot labels of shape (batch, categories):
// L = sum over the batch of -log(y_k + eps) where label_k = 1; E = -label / (y + eps),
// eps = std::numeric_limits<T>::epsilon() so log(0) never happens.
template <typename T>
class CrossEntropyLoss : public Loss<T> {
 public:
  std::string type() const override { return "CrossEntropyLoss"; }
  T forward(const Tensor<T>& prediction, const Tensor<T>& label) override;
  T forward(Tensor<T>&& prediction, const Tensor<T>& label) override;
  Tensor<T> backward(const Tensor<T>& label) override;

 private:
  static T loss_of(const Tensor<T>& prediction, const Tensor<T>& label);
};

// L = sum (prediction - label)^2; E = 2 (prediction - label). Any shape (used by gradient checks).
template <typename T>
class L2Loss : public Loss<T> {
 public:
  std::string type() const override { return "L2Loss"; }
  T forward(const Tensor<T>& prediction, const Tensor<T>& label) override;
  T forward(Tensor<T>&& prediction, const Tensor<T>& label) override;
  Tensor<T> backward(const Tensor<T>& label) override;

 private:
  static T loss_of(const Tensor<T>& prediction, const Tensor<T>& label);
};

extern template class CrossEntropyLoss<float>;
extern template class CrossEntropyLoss<double>;
extern template class L2Loss<float>;
extern template class L2Loss<double>;

}  // namespace cnnkit
