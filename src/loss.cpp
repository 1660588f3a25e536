// The losses (the basic framework the lecture builds on), summed over the batch:
//   CrossEntropyLoss: L = sum_b -log(y_b,k + eps) at the true class k, E = -label / (y + eps)
//   L2Loss:           L = sum (y - label)^2,                            E = 2 (y - label)
#include "cnnkit/loss.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

#include "check.hpp"

namespace cnnkit {

namespace {

// A default tensor (shape [0]) is what a loss holds until its first forward().
template <typename T>
bool forward_done(const Tensor<T>& prediction) {
  return prediction.shape() != Shape{0};
}

}  // namespace

template <typename T>
T CrossEntropyLoss<T>::forward(const Tensor<T>& prediction, const Tensor<T>& label) {
  detail::require_shape(label.shape(), prediction.shape(), type(), "label");
  // eps keeps log() finite when the network predicts exactly 0 for the true class.
  constexpr T eps = std::numeric_limits<T>::epsilon();
  T loss = 0;
  for (std::size_t i = 0; i < prediction.size(); ++i) {
    if (label[i] == T(1)) loss -= std::log(prediction[i] + eps);
  }
  prediction_ = prediction;
  return loss;
}

template <typename T>
Tensor<T> CrossEntropyLoss<T>::backward(const Tensor<T>& label) {
  detail::require_forward_done(forward_done(prediction_), type());
  detail::require_shape(label.shape(), prediction_.shape(), type(), "label");
  constexpr T eps = std::numeric_limits<T>::epsilon();
  // E = -label / (y + eps): dL/dy of -log(y + eps) for the true class, 0 elsewhere.
  Tensor<T> error_tensor(prediction_.shape());
  for (std::size_t i = 0; i < error_tensor.size(); ++i) {
    error_tensor[i] = -label[i] / (prediction_[i] + eps);
  }
  return error_tensor;
}

template <typename T>
T L2Loss<T>::forward(const Tensor<T>& prediction, const Tensor<T>& label) {
  detail::require_shape(label.shape(), prediction.shape(), type(), "label");
  T loss = 0;
  for (std::size_t i = 0; i < prediction.size(); ++i) {
    const T difference = prediction[i] - label[i];
    loss += difference * difference;
  }
  prediction_ = prediction;
  return loss;
}

template <typename T>
Tensor<T> L2Loss<T>::backward(const Tensor<T>& label) {
  detail::require_forward_done(forward_done(prediction_), type());
  detail::require_shape(label.shape(), prediction_.shape(), type(), "label");
  Tensor<T> error_tensor(prediction_.shape());
  for (std::size_t i = 0; i < error_tensor.size(); ++i) {
    error_tensor[i] = T(2) * (prediction_[i] - label[i]);
  }
  return error_tensor;
}

template class CrossEntropyLoss<float>;
template class CrossEntropyLoss<double>;
template class L2Loss<float>;
template class L2Loss<double>;

}  // namespace cnnkit
