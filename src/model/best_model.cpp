// The best epoch of a run and its weights (see best_model.hpp).
#include "cnnkit/model/best_model.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace cnnkit {

std::string to_string(ValidationMetric metric) {
  return metric == ValidationMetric::kAccuracy ? "accuracy" : "loss";
}

ValidationMetric validation_metric_from_string(std::string_view text) {
  if (text == "loss") return ValidationMetric::kLoss;
  if (text == "accuracy") return ValidationMetric::kAccuracy;
  throw std::invalid_argument("validation metric: expected \"loss\" or \"accuracy\", got \"" +
                              std::string(text) + "\"");
}

double monitored_value(const EpochMetrics& metrics, ValidationMetric metric) {
  return metric == ValidationMetric::kAccuracy ? metrics.validation_accuracy
                                               : metrics.validation_loss;
}

MonitorVerdict monitor_epoch(TrainingState& state, const EpochMetrics& metrics,
                             ValidationMetric metric, std::optional<std::size_t> patience) {
  const double value = monitored_value(metrics, metric);
  MonitorVerdict verdict;
  // Strictly better: an epoch that only ties the best does not reset the patience.
  if (std::isfinite(value)) {
    const bool first = state.best_epoch == 0;
    verdict.improved = first || (metric == ValidationMetric::kAccuracy ? value > state.best_metric
                                                                       : value < state.best_metric);
  }
  if (verdict.improved) {
    state.best_epoch = metrics.epoch;
    state.best_metric = value;
  }
  verdict.stop = patience.has_value() && metrics.epoch - state.best_epoch >= *patience;
  return verdict;
}

namespace {

// The tensors copy_weights takes, in its order.
template <typename T>
std::vector<Tensor<T>*> weight_tensors(const Model<T>& model) {
  std::vector<Tensor<T>*> tensors;
  for (Layer<T>* layer : model.graph.layers()) {
    for (Parameter<T>* parameter : layer->parameters()) tensors.push_back(&parameter->value);
    for (const LayerBuffer<T>& buffer : layer->buffers()) tensors.push_back(buffer.value);
  }
  return tensors;
}

}  // namespace

template <typename T>
ModelWeights<T> copy_weights(const Model<T>& model) {
  ModelWeights<T> weights;
  for (const Tensor<T>* tensor : weight_tensors(model)) weights.tensors.push_back(*tensor);
  return weights;
}

template <typename T>
void restore_weights(Model<T>& model, const ModelWeights<T>& weights) {
  const std::vector<Tensor<T>*> tensors = weight_tensors(model);
  if (tensors.size() != weights.tensors.size()) {
    throw std::invalid_argument("restore_weights: model '" + model.description.name +
                                "' expected " + std::to_string(tensors.size()) +
                                " weight tensors, got " + std::to_string(weights.tensors.size()));
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i]->shape() != weights.tensors[i].shape()) {
      throw std::invalid_argument("restore_weights: model '" + model.description.name +
                                  "' expected tensor " + std::to_string(i) + " of shape " +
                                  to_string(tensors[i]->shape()) + ", got " +
                                  to_string(weights.tensors[i].shape()));
    }
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) *tensors[i] = weights.tensors[i];
}

template struct ModelWeights<float>;
template struct ModelWeights<double>;
template ModelWeights<float> copy_weights<float>(const Model<float>&);
template ModelWeights<double> copy_weights<double>(const Model<double>&);
template void restore_weights<float>(Model<float>&, const ModelWeights<float>&);
template void restore_weights<double>(Model<double>&, const ModelWeights<double>&);

}  // namespace cnnkit
