// The options of `cnnkit train` and what they do to the model description and the data, apart
// from the training loop of train.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cnnkit/data/augmentation.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/trainer.hpp"
#include "data_source.hpp"
#include "update_options.hpp"

namespace cnnkit::cli {

struct TrainArguments {
  std::string model;
  std::string data;
  std::size_t epochs = 3;
  std::string out;
  std::optional<std::size_t> batch_size;
  std::string optimizer;
  std::optional<double> learning_rate;
  std::string loss_reduction;  // "sum" or "mean"; empty: the model's
  UpdateArguments update;
  std::uint64_t seed = 0;
  std::size_t threads = 0;
  bool resume = false;
  std::optional<double> validation_split;
  std::optional<std::size_t> patience;
  std::string monitor;  // "loss" or "accuracy"; empty: the checkpoint's, else loss
  std::optional<std::size_t> gradient_groups;
  std::string augment;    // --augment, e.g. "crop=2,flip"
  std::string normalize;  // --normalize, e.g. "0.286,0.353"
};

// The validation split, the metric and early stopping: from the options, and on --resume the
// checkpoint's split and metric unless given (given ones must match, which train() checks).
TrainOptions validation_options(const TrainArguments& args, const TrainingState& state);

// --optimizer, --learning-rate, --loss-reduction, --normalize and the update options change the
// description (so they are kept in the model file and the checkpoint).
void apply_overrides(ModelDescription& description, const TrainArguments& args);

// The model's class names: its own, or else the data's (then stored in the model file).
void adopt_class_names(ModelDescription& description, const DataSplit& data);

// The data must fit the model: checked here so the message names the --data spec.
void require_fit(const ModelDescription& description, const DataSplit& data);

// --augment fits the training samples (--normalize is the model's first layer: apply_overrides).
Augmentation apply_data_options(const TrainArguments& args, const DataSplit& data);

// "Adam learning rate 0.001" and the update settings, for the run's first line and messages.
std::string optimizer_text(const ModelDescription& description);

// --resume continues the same run: a UsageError when --model, the optimizer or update options, or
// --batch-size ask for another one than the checkpoint (`description`, `batch_size`) holds.
void require_same_run(const TrainArguments& args, const ModelDescription& description,
                      const DataSplit& data, std::size_t batch_size,
                      const std::string& checkpoint_path);

}  // namespace cnnkit::cli
