// The losses (the basic framework the lecture builds on), summed over the batch:
//   CrossEntropyLoss: L = sum_b -log(y_b,k + eps) at the true class k, E = -label / (y + eps)
//   L2Loss:           L = sum (y - label)^2,                            E = 2 (y - label)
// and the fused SoftmaxCrossEntropyLoss from logits (see loss.hpp). Reduction::kMean scales L and
// E by 1 / batch.
#include "cnnkit/loss.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "check.hpp"

namespace cnnkit {

std::string to_string(Reduction reduction) {
  return reduction == Reduction::kMean ? "mean" : "sum";
}

Reduction reduction_from_string(std::string_view text, std::string_view component) {
  if (text == "sum") return Reduction::kSum;
  if (text == "mean") return Reduction::kMean;
  throw std::invalid_argument(std::string(component) +
                              ": expected the reduction \"sum\" or \"mean\", got \"" +
                              std::string(text) + "\"");
}

namespace {

// The batch size of a prediction: its first axis.
template <typename T>
std::size_t batch_of(const Tensor<T>& prediction) {
  return prediction.rank() > 0 ? prediction.dim(0) : 1;
}

// A default tensor (shape [0]) is what a loss holds until its first forward().
template <typename T>
bool forward_done(const Tensor<T>& prediction) {
  return prediction.shape() != Shape{0};
}

}  // namespace

// The components' names as messages print them (type() would build a std::string per call).
constexpr const char* kCrossEntropy = "CrossEntropyLoss";
constexpr const char* kL2 = "L2Loss";
constexpr const char* kSoftmaxCrossEntropy = "SoftmaxCrossEntropy";

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
  const T loss = loss_of(prediction, label) * this->reduction_scale(batch_of(prediction));
  this->keep_prediction(prediction);
  return loss;
}

template <typename T>
T CrossEntropyLoss<T>::forward(Tensor<T>&& prediction, const Tensor<T>& label) {
  const T loss = loss_of(prediction, label) * this->reduction_scale(batch_of(prediction));
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
  const T scale = this->reduction_scale(batch_of(prediction));
  Tensor<T> error_tensor = this->new_error_tensor();  // written in full
  for (std::size_t i = 0; i < error_tensor.size(); ++i) {
    error_tensor[i] = -label[i] / (prediction[i] + eps) * scale;
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
  const T loss = loss_of(prediction, label) * this->reduction_scale(batch_of(prediction));
  this->keep_prediction(prediction);
  return loss;
}

template <typename T>
T L2Loss<T>::forward(Tensor<T>&& prediction, const Tensor<T>& label) {
  const T loss = loss_of(prediction, label) * this->reduction_scale(batch_of(prediction));
  this->keep_prediction(std::move(prediction));
  return loss;
}

template <typename T>
Tensor<T> L2Loss<T>::backward(const Tensor<T>& label) {
  const Tensor<T>& prediction = this->kept_prediction();
  detail::require_forward_done(forward_done(prediction), kL2);
  detail::require_shape(label.shape(), prediction.shape(), kL2, "label");
  const T scale = T(2) * this->reduction_scale(batch_of(prediction));
  Tensor<T> error_tensor = this->new_error_tensor();  // written in full
  for (std::size_t i = 0; i < error_tensor.size(); ++i) {
    error_tensor[i] = scale * (prediction[i] - label[i]);
  }
  return error_tensor;
}

namespace {

// One row of logits x: sets `sum` to sum_j exp(x_j - max x), writes each term to `shifted` unless
// it is null (it may be x itself), and returns log sum_j exp(x_j) = max x + log(sum); shifting by
// the maximum keeps every exp() at most 1, so none overflows.
template <typename T>
T shifted_exps(const T* x, std::size_t categories, T* shifted, T& sum) {
  const T row_max = *std::max_element(x, x + categories);
  sum = 0;
  for (std::size_t k = 0; k < categories; ++k) {
    const T term = std::exp(x[k] - row_max);
    if (shifted != nullptr) shifted[k] = term;
    sum += term;
  }
  return row_max + std::log(sum);
}

}  // namespace

template <typename T>
T SoftmaxCrossEntropyLoss<T>::loss_of(const Tensor<T>& logits, const Tensor<T>& label) const {
  detail::require(logits.rank() == 2 && logits.dim(1) > 0, kSoftmaxCrossEntropy,
                  "logits of shape [batch, categories] with categories above 0", logits.shape());
  detail::require_shape(label.shape(), logits.shape(), kSoftmaxCrossEntropy, "label");
  const std::size_t categories = logits.dim(1);
  T loss = 0;
  for (std::size_t n = 0; n < logits.dim(0); ++n) {
    const T* x = logits.data() + n * categories;
    const T* l = label.data() + n * categories;
    T sum = 0;
    const T log_sum_exp = shifted_exps(x, categories, static_cast<T*>(nullptr), sum);
    for (std::size_t k = 0; k < categories; ++k) {
      if (l[k] != T(0)) loss += l[k] * (log_sum_exp - x[k]);  // -label_k log_softmax(x)_k
    }
  }
  return loss * this->reduction_scale(logits.dim(0));
}

template <typename T>
T SoftmaxCrossEntropyLoss<T>::forward(const Tensor<T>& logits, const Tensor<T>& label) {
  const T loss = loss_of(logits, label);
  this->keep_prediction(logits);
  return loss;
}

template <typename T>
T SoftmaxCrossEntropyLoss<T>::forward(Tensor<T>&& logits, const Tensor<T>& label) {
  const T loss = loss_of(logits, label);
  this->keep_prediction(std::move(logits));
  return loss;
}

template <typename T>
Tensor<T> SoftmaxCrossEntropyLoss<T>::backward(const Tensor<T>& label) {
  const Tensor<T>& logits = this->kept_prediction();
  detail::require_forward_done(forward_done(logits), kSoftmaxCrossEntropy);
  detail::require_shape(label.shape(), logits.shape(), kSoftmaxCrossEntropy, "label");
  const T scale = this->reduction_scale(logits.dim(0));
  const std::size_t categories = logits.dim(1);
  Tensor<T> error_tensor = this->new_error_tensor();  // written in full
  for (std::size_t n = 0; n < logits.dim(0); ++n) {
    T* e = error_tensor.data() + n * categories;
    const T* l = label.data() + n * categories;
    T sum = 0;
    shifted_exps(logits.data() + n * categories, categories, e, sum);
    T label_sum = 0;
    for (std::size_t k = 0; k < categories; ++k) label_sum += l[k];
    // dL/dx = softmax(x) sum_k label_k - label (softmax - onehot for one-hot labels).
    for (std::size_t k = 0; k < categories; ++k) e[k] = (e[k] / sum * label_sum - l[k]) * scale;
  }
  return error_tensor;
}

template <typename T>
Tensor<T> SoftmaxCrossEntropyLoss<T>::prediction_from(Tensor<T>&& logits) {
  detail::require(logits.rank() == 2 && logits.dim(1) > 0, kSoftmaxCrossEntropy,
                  "logits of shape [batch, categories] with categories above 0", logits.shape());
  const std::size_t categories = logits.dim(1);
  for (std::size_t n = 0; n < logits.dim(0); ++n) {
    T* row = logits.data() + n * categories;
    T sum = 0;
    shifted_exps(row, categories, row, sum);  // in place: each x_k is read before it is written
    for (std::size_t k = 0; k < categories; ++k) row[k] /= sum;
  }
  return std::move(logits);
}

template class CrossEntropyLoss<float>;
template class CrossEntropyLoss<double>;
template class L2Loss<float>;
template class L2Loss<double>;
template class SoftmaxCrossEntropyLoss<float>;
template class SoftmaxCrossEntropyLoss<double>;

}  // namespace cnnkit
