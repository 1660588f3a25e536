#include "train_options.hpp"

#include <sstream>
#include <stdexcept>

#include "augment_options.hpp"
#include "cnnkit/model/input_normalization.hpp"
#include "command.hpp"
#include "number_options.hpp"

namespace cnnkit::cli {

namespace {

bool has_overrides(const TrainArguments& args) {
  return !args.optimizer.empty() || args.learning_rate || !args.loss_reduction.empty() ||
         args.update.given() || !args.normalize.empty();
}

}  // namespace

TrainOptions validation_options(const TrainArguments& args, const TrainingState& state) {
  TrainOptions options;
  options.validation_fraction = args.validation_split.value_or(state.validation_fraction);
  const std::string monitor =
      !args.monitor.empty() ? args.monitor : (state.monitor.empty() ? "loss" : state.monitor);
  options.monitor = validation_metric_from_string(monitor);
  options.early_stopping_patience = args.patience;
  if (options.validation_fraction == 0.0 && (args.patience || !args.monitor.empty())) {
    throw UsageError(std::string(args.patience ? "--early-stopping-patience" : "--monitor") +
                     ": expected --validation-split (it watches the validation " + monitor +
                     "), got none");
  }
  // The split's own seed is fixed: the held-out samples do not change with --seed, nor on resume.
  options.validation_seed = 0;
  return options;
}

void apply_overrides(ModelDescription& description, const TrainArguments& args) {
  if (!args.optimizer.empty()) {
    const std::string type = args.optimizer == "adam"    ? "Adam"
                             : args.optimizer == "adamw" ? "AdamW"
                             : args.optimizer == "sgd"   ? "Sgd"
                                                         : "SgdWithMomentum";
    if (type != description.optimizer.type) {
      // Another type starts from its defaults; the rate and the weight decay stay.
      const OptimizerSpec before = description.optimizer;
      description.optimizer = OptimizerSpec{};
      description.optimizer.type = type;
      description.optimizer.learning_rate = before.learning_rate;
      description.optimizer.weight_decay = before.weight_decay;
      description.optimizer.decay_bias_and_norm = before.decay_bias_and_norm;
    }
  }
  if (args.learning_rate) description.optimizer.learning_rate = *args.learning_rate;
  if (!args.loss_reduction.empty()) description.loss_reduction = args.loss_reduction;
  apply_update_overrides(description, args.update);
  if (!args.normalize.empty()) {
    const Normalization normalization = parse_normalization(args.normalize);
    try {
      validate(normalization, description.input_shape.empty() ? 0 : description.input_shape[0]);
      add_input_normalization(description, normalization.mean, normalization.std);
      validate(description);
    } catch (const std::invalid_argument& error) {
      throw UsageError(std::string("--normalize: ") + error.what());
    }
  }
  validate(description);
}

void adopt_class_names(ModelDescription& description, const DataSplit& data) {
  if (description.classes.empty() && data.train.num_classes() == num_outputs(description)) {
    description.classes = data.train.class_names;
  }
}

void require_fit(const ModelDescription& description, const DataSplit& data) {
  const Shape sample = data.train.sample_shape();
  if (sample != description.input_shape) {
    // load_data reshapes samples of the same element count; these cannot be.
    throw std::invalid_argument(
        "model '" + description.name + "' expects input " + to_string(description.input_shape) +
        ", data '" + data.spec + "' has samples of shape " + to_string(sample) + " (" +
        std::to_string(element_count(sample)) + " values; " + to_string(description.input_shape) +
        " takes " + std::to_string(element_count(description.input_shape)) + ")");
  }
  const std::size_t outputs = num_outputs(description);
  if (data.train.num_classes() != outputs) {
    throw std::invalid_argument("model '" + description.name + "' predicts " +
                                std::to_string(outputs) + " classes, data '" + data.spec +
                                "' has " + std::to_string(data.train.num_classes()));
  }
}

// A value that does not fit the data is a usage error naming the option.
Augmentation apply_data_options(const TrainArguments& args, const DataSplit& data) {
  const auto as_usage_error = [](const char* option, const auto& action) {
    try {
      action();
    } catch (const std::invalid_argument& error) {
      throw UsageError(std::string(option) + ": " + error.what());
    }
  };
  Augmentation augmentation;
  if (!args.augment.empty()) {
    augmentation = parse_augmentation(args.augment);
    as_usage_error("--augment", [&] { validate(augmentation, data.train.sample_shape()); });
  }
  return augmentation;
}

std::string optimizer_text(const ModelDescription& description) {
  const OptimizerSpec& spec = description.optimizer;
  std::ostringstream text;
  text << spec.type << " learning rate " << spec.learning_rate;
  return text.str() + update_settings_text(description);
}

void require_same_run(const TrainArguments& args, const ModelDescription& description,
                      const DataSplit& data, std::size_t batch_size,
                      const std::string& checkpoint_path) {
  if (!args.model.empty()) {
    ModelDescription asked = resolve_model_description(args.model);
    apply_overrides(asked, args);
    adopt_class_names(asked, data);
    if (asked != description) {
      throw UsageError("--resume: the checkpoint " + checkpoint_path + " holds model '" +
                       description.name +
                       "' with other layers or optimizer settings than "
                       "--model " +
                       args.model + " asks for");
    }
  } else if (has_overrides(args)) {
    ModelDescription asked = description;
    apply_overrides(asked, args);
    if (asked != description) {
      throw UsageError(
          "--resume: expected the optimizer, update settings and loss reduction of the run "
          "being continued (" +
          optimizer_text(description) + ", loss reduction " + description.loss_reduction + ")");
    }
  }
  if (args.batch_size && *args.batch_size != batch_size) {
    throw UsageError("--resume: expected the batch size of the run being continued (" +
                     std::to_string(batch_size) + "), got " + std::to_string(*args.batch_size));
  }
}

}  // namespace cnnkit::cli
