// Evaluation: the test half of every epoch and of `cnnkit eval`.
#include "cnnkit/model/evaluation.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace cnnkit {

std::vector<double> Evaluation::per_class_accuracy() const {
  std::vector<double> accuracy;
  for (std::size_t c = 0; c < confusion.size(); ++c) {
    const std::size_t total =
        std::accumulate(confusion[c].begin(), confusion[c].end(), std::size_t{0});
    accuracy.push_back(total == 0
                           ? std::numeric_limits<double>::quiet_NaN()
                           : static_cast<double>(confusion[c][c]) / static_cast<double>(total));
  }
  return accuracy;
}

template <typename T>
void require_data_fits(const Model<T>& model, const Dataset<T>& data, const std::string& what) {
  const ModelDescription& description = model.description;
  if (data.sample_shape() != description.input_shape) {
    throw std::invalid_argument("model '" + description.name + "' expects input " +
                                to_string(description.input_shape) + ", " + what + " has " +
                                to_string(data.sample_shape()));
  }
  const std::size_t outputs = num_outputs(description);
  if (data.num_classes() != outputs) {
    throw std::invalid_argument("model '" + description.name + "' predicts " +
                                std::to_string(outputs) + " classes, " + what + " has " +
                                std::to_string(data.num_classes()));
  }
}

template <typename T>
void argmax_rows(const Tensor<T>& rows, std::vector<std::size_t>& into) {
  if (rows.rank() != 2 || rows.dim(1) == 0) {
    throw std::invalid_argument("argmax_rows: expected (batch, categories), got " +
                                to_string(rows.shape()));
  }
  const std::size_t categories = rows.dim(1);
  into.resize(rows.dim(0));
  for (std::size_t n = 0; n < rows.dim(0); ++n) {
    const T* row = rows.data() + n * categories;
    into[n] = static_cast<std::size_t>(std::max_element(row, row + categories) - row);
  }
}

template <typename T>
std::vector<std::size_t> argmax_rows(const Tensor<T>& rows) {
  std::vector<std::size_t> result;
  argmax_rows(rows, result);
  return result;
}

template <typename T>
Evaluation evaluate(Model<T>& model, const Dataset<T>& data, std::size_t batch_size) {
  require_data_fits(model, data, "the data");
  if (batch_size == 0) throw std::invalid_argument("evaluate: expected a batch size > 0, got 0");
  const std::size_t classes = data.num_classes();
  Evaluation result;
  result.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
  double loss_sum = 0.0;
  std::size_t correct = 0;
  // In order, no shuffling: batch b holds samples [b * batch_size, ...).
  BatchIterator<T> batches(data, batch_size, /*shuffle=*/false);
  for (std::size_t b = 0; b < batches.batches_per_epoch(); ++b) {
    const Batch<T> batch = batches.next();
    // Model::output runs the testing phase: no layer keeps anything for a backward pass. The loss
    // takes the output; the prediction (probabilities) is what Model::forward would give.
    Tensor<T> output = model.output(batch.input);
    loss_sum += model.loss->batch_sum(model.loss->forward(output, batch.label), batch.label.dim(0));
    const Tensor<T> prediction = model.loss->prediction_from(std::move(output));
    const std::vector<std::size_t> predicted = argmax_rows(prediction);
    const std::vector<std::size_t>& truth = batches.last_labels();
    for (std::size_t n = 0; n < predicted.size(); ++n) {
      ++result.confusion[truth[n]][predicted[n]];
      if (predicted[n] == truth[n]) ++correct;
      result.predictions.push_back(predicted[n]);
      result.confidence.push_back(static_cast<double>(prediction(n, predicted[n])));
    }
  }
  const double count = static_cast<double>(data.size());
  result.loss = data.size() == 0 ? 0.0 : loss_sum / count;
  result.accuracy = data.size() == 0 ? 0.0 : static_cast<double>(correct) / count;
  return result;
}

template Evaluation evaluate<float>(Model<float>&, const Dataset<float>&, std::size_t);
template Evaluation evaluate<double>(Model<double>&, const Dataset<double>&, std::size_t);
template void require_data_fits<float>(const Model<float>&, const Dataset<float>&,
                                       const std::string&);
template void require_data_fits<double>(const Model<double>&, const Dataset<double>&,
                                        const std::string&);
template std::vector<std::size_t> argmax_rows<float>(const Tensor<float>&);
template std::vector<std::size_t> argmax_rows<double>(const Tensor<double>&);
template void argmax_rows<float>(const Tensor<float>&, std::vector<std::size_t>&);
template void argmax_rows<double>(const Tensor<double>&, std::vector<std::size_t>&);

}  // namespace cnnkit
