// How well a model does on a labelled data set: loss, accuracy, confusion matrix and each
// sample's prediction (for per-class figures and pictures of the mistakes).
#pragma once

#include <cstddef>
#include <vector>

#include "cnnkit/data/dataset.hpp"
#include "cnnkit/model/model.hpp"

namespace cnnkit {

struct Evaluation {
  double loss = 0.0;      // the model's loss, mean per sample
  double accuracy = 0.0;  // fraction of samples whose most probable class is the true one
  // confusion[true class][predicted class] = count; num_classes x num_classes.
  std::vector<std::vector<std::size_t>> confusion;
  std::vector<std::size_t> predictions;  // per sample: the most probable class
  std::vector<double> confidence;        // per sample: the model's output for that class

  // Per true class: correct / samples of that class (NaN for a class with no samples).
  std::vector<double> per_class_accuracy() const;
};

// Runs the data through the model in batches (forward only; the loss is computed, no update).
// Throws std::invalid_argument when the data's sample shape or class count does not match the
// model ("model 'digits-cnn' expects input [1, 8, 8], data has [1, 28, 28]").
template <typename T>
Evaluation evaluate(Model<T>& model, const Dataset<T>& data, std::size_t batch_size = 1000);

// The same check evaluate() and train() make first.
template <typename T>
void require_data_fits(const Model<T>& model, const Dataset<T>& data, const std::string& what);

// Index of the largest value in each row of (batch, categories); the first on ties.
template <typename T>
std::vector<std::size_t> argmax_rows(const Tensor<T>& rows);
// The same into a vector the caller keeps (resized; no allocation once it is large enough).
template <typename T>
void argmax_rows(const Tensor<T>& rows, std::vector<std::size_t>& into);

extern template Evaluation evaluate<float>(Model<float>&, const Dataset<float>&, std::size_t);
extern template Evaluation evaluate<double>(Model<double>&, const Dataset<double>&, std::size_t);
extern template void require_data_fits<float>(const Model<float>&, const Dataset<float>&,
                                              const std::string&);
extern template void require_data_fits<double>(const Model<double>&, const Dataset<double>&,
                                               const std::string&);
extern template std::vector<std::size_t> argmax_rows<float>(const Tensor<float>&);
extern template std::vector<std::size_t> argmax_rows<double>(const Tensor<double>&);
extern template void argmax_rows<float>(const Tensor<float>&, std::vector<std::size_t>&);
extern template void argmax_rows<double>(const Tensor<double>&, std::vector<std::size_t>&);

}  // namespace cnnkit
