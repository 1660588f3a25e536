// The losses (the basic framework the lecture builds on), summed over the batch:
//   CrossEntropyLoss: L = sum_b -log(y_b,k + eps) at the true class k, E = -label / (y + eps)
//   L2Loss:           L = sum (y - label)^2,                            E = 2 (y - label)
#include "cnnkit/loss.hpp"

#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

#include "check.hpp"

namespace cnnkit {

namespace {

// A default tensor (shape [0]) is what a loss holds until its first forward().
template <typename T>
bool forward_done(const Tensor<T>& prediction) {
  return prediction.shape() != Shape{0};
}

}  // namespace

// The components' names as messages print them (type() would build a std::string per call).
constexpr const char* kCrossEntropy = "CrossEntropyLoss";
constexpr const char* kL2 = "L2Loss";

template <typename T>
T CrossEntropyLoss<T>::loss_of(const Tensor<T>& prediction, const Tensor<T>& label) {
  detail::require_shape(label.shape(), prediction.shape(), kCrossEntropy, "label");
  // eps keeps log() finite when the network predicts exactly 0 for the true class.
  constexpr T eps = std::numeric_limits<T>::epsilon();
  T loss = 0;
  for (std::size_t i = 0; i < prediction.size(); ++i) {
    if (label[i] == T(1)) loss -= std::log(prediction[i] + eps);
  }
  return loss;
}

template <typename T>
T CrossEntropyLoss<T>::forward(const Tensor<T>& prediction, const Tensor<T>& label) {
  const T loss = loss_of(prediction, label);
  this->keep_prediction(prediction);
  return loss;
}

template <typename T>
T CrossEntropyLoss<T>::forward(Tensor<T>&& prediction, const Tensor<T>& label) {
  const T loss = loss_of(prediction, label);
  this->keep_prediction(std::move(prediction));
  return loss;
}

template <typename T>
Tensor<T> CrossEntropyLoss<T>::backward(const Tensor<T>& label) {
  const Tensor<T>& prediction = this->kept_prediction();
  detail::require_forward_done(forward_done(prediction), kCrossEntropy);
  detail::require_shape(label.shape(), prediction.shape(), kCrossEntropy, "label");
  constexpr T eps = std::numeric_limits<T>::epsilon();
  // E = -label / (y + eps): dL/dy of -log(y + eps) for the true class, 0 elsewhere.
  Tensor<T> error_tensor = this->new_error_tensor();  // written in full
  for (std::size_t i = 0; i < error_tensor.size(); ++i) {
    error_tensor[i] = -label[i] / (prediction[i] + eps);
  }
  return error_tensor;
}

template <typename T>
T L2Loss<T>::loss_of(const Tensor<T>& prediction, const Tensor<T>& label) {
  detail::require_shape(label.shape(), prediction.shape(), kL2, "label");
  T loss = 0;
  for (std::size_t i = 0; i < prediction.size(); ++i) {
    const T difference = prediction[i] - label[i];
    loss += difference * difference;
  }
  return loss;
}

template <typename T>
T L2Loss<T>::forward(const Tensor<T>& prediction, const Tensor<T>& label) {
  const T loss = loss_of(prediction, label);
  this->keep_prediction(prediction);
  return loss;
}

template <typename T>
T L2Loss<T>::forward(Tensor<T>&& prediction, const Tensor<T>& label) {
  const T loss = loss_of(prediction, label);
  this->keep_prediction(std::move(prediction));
  return loss;
}

template <typename T>
Tensor<T> L2Loss<T>::backward(const Tensor<T>& label) {
  const Tensor<T>& prediction = this->kept_prediction();
  detail::require_forward_done(forward_done(prediction), kL2);
  detail::require_shape(label.shape(), prediction.shape(), kL2, "label");
  Tensor<T> error_tensor = this->new_error_tensor();  // written in full
  for (std::size_t i = 0; i < error_tensor.size(); ++i) {
    error_tensor[i] = T(2) * (prediction[i] - label[i]);
  }
  return error_tensor;
}

template class CrossEntropyLoss<float>;
template class CrossEntropyLoss<double>;
template class L2Loss<float>;
template class L2Loss<double>;

}  // namespace cnnkit
