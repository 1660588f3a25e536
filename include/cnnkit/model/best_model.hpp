// Keeping the best model of a run: the validation metric that ranks the epochs, the rule that
// stops a run once that metric has not improved for `patience` epochs (Keras's EarlyStopping with
// min_delta 0), and a copy of the weights to go back to.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnnkit/model/model.hpp"
#include "cnnkit/model/training_state.hpp"

namespace cnnkit {

// Which validation figure ranks the epochs: a lower loss or a higher accuracy is better.
enum class ValidationMetric { kLoss, kAccuracy };

// "loss" or "accuracy", and back (std::invalid_argument naming both for anything else).
std::string to_string(ValidationMetric metric);
ValidationMetric validation_metric_from_string(std::string_view text);

// The epoch's value of the metric: its validation loss or validation accuracy.
double monitored_value(const EpochMetrics& metrics, ValidationMetric metric);

struct MonitorVerdict {
  bool improved = false;  // this epoch is the new best (state.best_epoch now names it)
  bool stop = false;      // patience epochs have passed without improvement
};

// Records the epoch `metrics` (the one state.epoch names) into state.best_epoch and
// state.best_metric when it improves strictly on them (the first finite value always does; NaN
// never does), and tells whether a run with this patience stops after it: when
// metrics.epoch - state.best_epoch >= patience. No patience: never stops.
MonitorVerdict monitor_epoch(TrainingState& state, const EpochMetrics& metrics,
                             ValidationMetric metric, std::optional<std::size_t> patience);

// Every parameter's value and every buffer (BatchNorm's running statistics) of a model, layer by
// layer: what its predictions depend on. Optimizer states are not part of it.
template <typename T>
struct ModelWeights {
  std::vector<Tensor<T>> tensors;
};

template <typename T>
ModelWeights<T> copy_weights(const Model<T>& model);

// Puts weights copied from a model of the same description back (std::invalid_argument naming
// the tensor when a count or shape differs).
template <typename T>
void restore_weights(Model<T>& model, const ModelWeights<T>& weights);

extern template struct ModelWeights<float>;
extern template struct ModelWeights<double>;
extern template ModelWeights<float> copy_weights<float>(const Model<float>&);
extern template ModelWeights<double> copy_weights<double>(const Model<double>&);
extern template void restore_weights<float>(Model<float>&, const ModelWeights<float>&);
extern template void restore_weights<double>(Model<double>&, const ModelWeights<double>&);

}  // namespace cnnkit
