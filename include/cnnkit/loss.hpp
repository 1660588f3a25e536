// Losses close the network: forward() turns a prediction and a label into one number,
// backward() gives the error tensor dLoss/dPrediction that starts the backward pass.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "cnnkit/spare_buffer.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

// How a loss combines its samples: kSum (the lecture's) adds them, kMean divides the sum by the
// batch size (the first axis), so that a learning rate does not depend on the batch size (PyTorch's
// default). The error tensor is scaled the same way.
enum class Reduction { kSum, kMean };

// "sum" or "mean".
std::string to_string(Reduction reduction);
// Throws std::invalid_argument naming `component` for anything but "sum" or "mean".
Reduction reduction_from_string(std::string_view text, std::string_view component = "loss");

template <typename T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string type() const = 0;
  Reduction reduction() const { return reduction_; }
  // GroupedStep sums its groups' losses and takes the mean over the global batch itself.
  void set_reduction(Reduction reduction) { reduction_ = reduction; }
  // The sum over the batch of a value forward() returned for `batch` samples: reports of the mean
  // loss per sample divide it by the samples they count, whatever the reduction.
  double batch_sum(T loss, std::size_t batch) const {
    return reduction_ == Reduction::kMean ? static_cast<double>(loss) * static_cast<double>(batch)
                                          : static_cast<double>(loss);
  }
  // What a prediction shows of the network's output (batch, ...): the output itself for a loss
  // that takes probabilities; the probabilities for a loss that takes logits
  // (SoftmaxCrossEntropyLoss), so that Model::forward and evaluation report probabilities either
  // way.
  virtual Tensor<T> prediction_from(Tensor<T>&& output) { return std::move(output); }
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
  explicit Loss(Reduction reduction) : reduction_(reduction) {}
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
  // 1 for kSum, 1 / batch for kMean: the factor of the loss and of its error tensor.
  T reduction_scale(std::size_t batch) const {
    return reduction_ == Reduction::kMean && batch > 0 ? T(1) / static_cast<T>(batch) : T(1);
  }

 private:
  Reduction reduction_ = Reduction::kSum;
  Tensor<T> prediction_;
  SpareBuffer<T> error_spare_;
};

// Cross-entropy for one-hot labels of shape (batch, categories):
// L = sum over the batch of -log(y_k + eps) where label_k = 1; E = -label / (y + eps),
// eps = std::numeric_limits<T>::epsilon() so log(0) never happens. With Reduction::kMean both are
// divided by the batch size.
template <typename T>
class CrossEntropyLoss : public Loss<T> {
 public:
  explicit CrossEntropyLoss(Reduction reduction = Reduction::kSum) : Loss<T>(reduction) {}
  std::string type() const override { return "CrossEntropyLoss"; }
  T forward(const Tensor<T>& prediction, const Tensor<T>& label) override;
  T forward(Tensor<T>&& prediction, const Tensor<T>& label) override;
  Tensor<T> backward(const Tensor<T>& label) override;

 private:
  static T loss_of(const Tensor<T>& prediction, const Tensor<T>& label);
};

// L = sum (prediction - label)^2; E = 2 (prediction - label). Any shape (used by gradient checks).
// With Reduction::kMean both are divided by the batch size, the first axis (not by the number of
// elements as PyTorch's MSELoss does: a mean over the batch, like the other losses).
template <typename T>
class L2Loss : public Loss<T> {
 public:
  explicit L2Loss(Reduction reduction = Reduction::kSum) : Loss<T>(reduction) {}
  std::string type() const override { return "L2Loss"; }
  T forward(const Tensor<T>& prediction, const Tensor<T>& label) override;
  T forward(Tensor<T>&& prediction, const Tensor<T>& label) override;
  Tensor<T> backward(const Tensor<T>& label) override;

 private:
  static T loss_of(const Tensor<T>& prediction, const Tensor<T>& label);
};

// Softmax and cross-entropy in one, from the logits x of shape (batch, categories), as PyTorch's
// log_softmax + nll_loss (its CrossEntropyLoss):
//   L = sum over the batch of -sum_k label_k log_softmax(x)_k,
//   log_softmax(x)_k = x_k - (max x + log sum_j exp(x_j - max x)),
//   E = softmax(x) sum_k label_k - label   (softmax - onehot for one-hot labels).
// Unlike SoftMax followed by CrossEntropyLoss it has no eps floor: a confidently wrong sample
// still gets an error near -1 for its true class. The network it closes ends in logits (no
// SoftMax layer); prediction_from() applies the softmax, so predictions stay probabilities.
template <typename T>
class SoftmaxCrossEntropyLoss : public Loss<T> {
 public:
  explicit SoftmaxCrossEntropyLoss(Reduction reduction = Reduction::kSum) : Loss<T>(reduction) {}
  std::string type() const override { return "SoftmaxCrossEntropy"; }
  T forward(const Tensor<T>& logits, const Tensor<T>& label) override;
  T forward(Tensor<T>&& logits, const Tensor<T>& label) override;
  Tensor<T> backward(const Tensor<T>& label) override;
  // In place: the handed-over logits become the probabilities.
  Tensor<T> prediction_from(Tensor<T>&& logits) override;

 private:
  T loss_of(const Tensor<T>& logits, const Tensor<T>& label) const;
};

extern template class CrossEntropyLoss<float>;
extern template class CrossEntropyLoss<double>;
extern template class L2Loss<float>;
extern template class L2Loss<double>;
extern template class SoftmaxCrossEntropyLoss<float>;
extern template class SoftmaxCrossEntropyLoss<double>;

}  // namespace cnnkit
