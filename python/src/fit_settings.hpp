// What Model.fit may change besides the data: the update settings, which live in the model's
// description (so a saved model records what trained it), and the run options.
#pragma once

#include <pybind11/pybind11.h>

#include <cnnkit/model/model.hpp>
#include <cnnkit/model/trainer.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "training.hpp"

namespace cnnkit::python {

namespace py = pybind11;

// The update settings fit may change: the optimizer (with its weight decay), the schedule and
// gradient clipping. They live in the description, so a saved model records what trained it.
struct UpdateSettings {
  py::object optimizer;  // an Optimizer<T> or None
  std::optional<double> weight_decay;
  std::optional<bool> decay_bias_and_norm;
  std::optional<ScheduleSpec> schedule;
  std::optional<double> clip_norm;
};

// The description with `settings` applied, checked as a description is (ValueError).
template <typename T>
ModelDescription with_settings(const ModelDescription& description,
                               const UpdateSettings& settings) {
  ModelDescription asked = description;
  if (!settings.optimizer.is_none()) {
    const Optimizer<T>& optimizer = settings.optimizer.cast<const Optimizer<T>&>();
    const std::optional<OptimizerSpec> spec = describe_optimizer(optimizer);
    if (!spec) {
      throw py::value_error(
          "Model.fit optimizer: expected a built-in optimizer (Sgd, SgdWithMomentum, Adam, "
          "AdamW), got " +
          optimizer.name());
    }
    if (settings.weight_decay && spec->type == "AdamW" &&
        *settings.weight_decay != spec->weight_decay) {
      throw py::value_error("Model.fit: expected one weight decay, got AdamW's " +
                            std::to_string(spec->weight_decay) +
                            " and weight_decay=" + std::to_string(*settings.weight_decay));
    }
    const bool decay_bias_and_norm = asked.optimizer.decay_bias_and_norm;
    asked.optimizer = *spec;  // its weight decay too: AdamW's, else none unless weight_decay=
    asked.optimizer.decay_bias_and_norm = decay_bias_and_norm;
  }
  if (settings.weight_decay) asked.optimizer.weight_decay = *settings.weight_decay;
  if (settings.decay_bias_and_norm) {
    asked.optimizer.decay_bias_and_norm = *settings.decay_bias_and_norm;
  }
  if (settings.schedule) asked.schedule = *settings.schedule;
  if (settings.clip_norm) asked.clip_norm = *settings.clip_norm;
  try {
    validate(asked);
  } catch (const std::invalid_argument& error) {
    throw py::value_error(std::string("Model.fit: ") + error.what());
  }
  return asked;
}

// Puts the update settings of `asked` into the model. A changed optimizer, weight decay or
// clipping starts every parameter's optimizer afresh (its moments and step count reset), as
// building the model does; a changed schedule alone keeps them.
template <typename T>
void adopt_settings(Model<T>& model, ModelDescription asked) {
  const OptimizerSpec& before = model.description.optimizer;
  const bool rebuild = asked.optimizer != before || asked.clip_norm != model.description.clip_norm;
  model.description = std::move(asked);
  if (!rebuild) return;
  const std::unique_ptr<Optimizer<T>> optimizer = build_optimizer<T>(model.description.optimizer);
  for (Layer<T>* layer : model.graph.layers()) {
    if (layer->trainable()) layer->set_optimizer(*optimizer);
  }
  model.graph.update_hooks().clear();
  add_update_phase(model.graph, model.description);
}

// The run options fit takes besides the epochs and the batch size.
struct RunSettings {
  double validation_split = 0.0;
  std::string monitor = "loss";
  std::optional<std::size_t> patience;
  bool restore_best_weights = false;
  std::optional<Augmentation> augmentation;
  PyCommunicator* communicator = nullptr;
  std::optional<std::size_t> gradient_groups;
};

// The options of a fit of `epochs` more epochs after those `state` has seen.
inline TrainOptions train_options(const TrainingState& state, std::size_t epochs,
                                  std::size_t batch_size, const RunSettings& run) {
  TrainOptions options;
  options.epochs = state.epoch + epochs;
  options.batch_size = batch_size;
  options.eval_batch_size = 1000;
  // The split of `cnnkit train --validation-split` (seed 0), so both hold out the same samples.
  options.validation_fraction = run.validation_split;
  options.monitor = validation_metric_from_string(run.monitor);
  options.early_stopping_patience = run.patience;
  options.restore_best_weights = run.restore_best_weights;
  if (run.augmentation) options.augmentation = *run.augmentation;
  if (run.communicator) {
    options.communicator = &run.communicator->get();
    // As `cnnkit train` under mpirun: 8 groups (or one per rank), so that 1 to 8 ranks and one
    // process with gradient_groups=8 give the same model.
    options.gradient_groups =
        run.gradient_groups.value_or(std::max<std::size_t>(8, options.communicator->size()));
  } else {
    options.gradient_groups = run.gradient_groups.value_or(0);
  }
  return options;
}

}  // namespace cnnkit::python
