// cnnkit train: build (or resume) a model, train it epoch by epoch with a checkpoint after each,
// and leave a run folder with the model, the metrics and the pictures.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>

#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "command.hpp"
#include "data_source.hpp"
#include "interrupt.hpp"
#include "number_options.hpp"
#include "progress.hpp"
#include "run_files.hpp"
#include "run_folder.hpp"
#include "update_options.hpp"

namespace cnnkit::cli {

namespace {

namespace fs = std::filesystem;

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
};

// The validation split, the metric and early stopping: from the options, and on --resume the
// checkpoint's split and metric unless given (given ones must match, which train() checks).
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

// --optimizer, --learning-rate, --loss-reduction and the update options change the description
// (so they are kept in the model file and the checkpoint).
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
  validate(description);
}

bool has_overrides(const TrainArguments& args) {
  return !args.optimizer.empty() || args.learning_rate || !args.loss_reduction.empty() ||
         args.update.given();
}

// The model's class names: its own, or else the data's (then stored in the model file).
void adopt_class_names(ModelDescription& description, const DataSplit& data) {
  if (description.classes.empty() && data.train.num_classes() == num_outputs(description)) {
    description.classes = data.train.class_names;
  }
}

// The data must fit the model: checked here so the message names the --data spec.
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

std::string optimizer_text(const ModelDescription& description) {
  const OptimizerSpec& spec = description.optimizer;
  std::ostringstream text;
  text << spec.type << " learning rate " << spec.learning_rate;
  return text.str() + update_settings_text(description);
}

int run_train(TrainArguments args) {
  if (args.model.empty() && !args.resume) throw UsageError("expected --model <preset or file>");
  set_num_threads(args.threads);

  // ---- the model: new from --model, or the checkpoint's when resuming
  std::optional<Checkpoint<float>> checkpoint;
  ModelDescription description;
  if (!args.resume) {
    description = resolve_model_description(args.model);
    apply_overrides(description, args);
  }
  if (args.out.empty()) {
    if (args.resume)
      throw UsageError("--resume: expected --out, the folder of the run to continue");
    args.out = default_run_folder(description.name);
  }
  // Claimed before anything in it is read or written: a second run into the same folder would mix
  // its checkpoint and metrics with this one's.
  const RunFolder folder(args.out);
  const std::string checkpoint_path = (fs::path(args.out) / "checkpoint.safetensors").string();
  if (args.resume) {
    if (!fs::exists(checkpoint_path)) {
      throw std::runtime_error("--resume: expected a checkpoint at " + checkpoint_path +
                               ", found none (train without --resume first)");
    }
    checkpoint = load_checkpoint<float>(checkpoint_path);
    description = checkpoint->model.description;
  }

  // ---- the data
  if (args.data.empty()) args.data = default_data_spec(description);
  const DataSplit data = load_data(args.data, description);
  require_fit(description, data);
  adopt_class_names(description, data);

  if (checkpoint) {
    // Resuming continues the same run: a different model or optimizer would be another one.
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
    if (args.batch_size && *args.batch_size != checkpoint->state.batch_size) {
      throw UsageError("--resume: expected the batch size of the run being continued (" +
                       std::to_string(checkpoint->state.batch_size) + "), got " +
                       std::to_string(*args.batch_size));
    }
    args.batch_size = checkpoint->state.batch_size;
  }
  const std::size_t batch_size = args.batch_size.value_or(64);

  Model<float> model;
  TrainingState state;
  if (checkpoint) {
    model = std::move(checkpoint->model);
    state = std::move(checkpoint->state);
    restore_random_state(state.random_state);
  } else {
    set_seed(args.seed);
    model = build_model<float>(description);
  }
  model.description = description;  // with the class names
  TrainOptions options = validation_options(args, state);
  options.epochs = args.epochs;
  options.batch_size = batch_size;
  options.eval_batch_size = 1000;
  const bool validating = options.validation_fraction > 0.0;

  std::cout << "model " << description.name << " (" << summarize(description).total_parameters
            << " parameters), data " << data.spec << ": " << data.train.size() << " training / "
            << data.test.size() << " test samples"
            << (validating ? " (" + fixed(options.validation_fraction * 100, 1) +
                                 " % of the training samples held out for validation)"
                           : std::string())
            << (data.reshaped_from.empty()
                    ? std::string()
                    : ", samples " + to_string(data.reshaped_from) + " reshaped to " +
                          to_string(description.input_shape))
            << ", batch " << batch_size << ", " << optimizer_text(description) << ", "
            << (checkpoint ? "resuming after epoch " + std::to_string(state.epoch)
                           : "seed " + std::to_string(args.seed))
            << ", " << num_threads() << " thread(s)" << std::endl;

  // ---- train, with a checkpoint, metrics and pictures after every epoch
  const std::string title = description.name + " on " + data.spec;
  const std::vector<std::string>& class_names = description.classes;
  ProgressDisplay display(std::cout, stdout_is_terminal());
  Evaluation last_evaluation;
  TrainCallbacks<float> callbacks;
  callbacks.on_batch = [&](const BatchProgress& progress) { display.batch(progress); };
  // The best epoch's weights (validation): model.safetensors at the end, and what a resumed run
  // goes back to when its best epoch came before the resume.
  const std::string best_path = (fs::path(args.out) / "best.safetensors").string();
  callbacks.on_epoch = [&](const Model<float>& trained, const TrainingState& now,
                           const Evaluation& evaluation) {
    display.epoch_done(now.history.back(), args.epochs);
    if (validating && now.best_epoch == now.epoch) {
      save_model(best_path, trained.description, trained.graph.layers());
    }
    save_checkpoint(checkpoint_path, trained, now);
    write_metrics_csv((fs::path(args.out) / "metrics.csv").string(), now.history);
    write_run_pictures(args.out, title, now.history, evaluation, data.test, class_names);
    last_evaluation = evaluation;
  };
  callbacks.stop_requested = interrupt_requested;
  callbacks.load_best = [&](Model<float>& into) {
    Model<float> best = load_model<float>(best_path);
    restore_weights(into, copy_weights(best));
  };
  install_interrupt_handlers();

  if (state.epoch >= args.epochs) {
    std::cout << "the checkpoint is already at epoch " << state.epoch << " of " << args.epochs
              << ": nothing to train" << std::endl;
  }
  // With nothing left to train, train() only goes back to the best epoch (with validation).
  const TrainOutcome outcome = train(model, data.train, data.test, options, state, callbacks);
  if (outcome == TrainOutcome::kStopped) {
    display.clear();
    std::cerr << "cnnkit train: interrupted in epoch " << state.epoch + 1 << "; "
              << (state.epoch > 0 ? checkpoint_path + " holds epoch " +
                                        std::to_string(state.epoch) + " (continue with --resume)"
                                  : std::string("no epoch was completed"))
              << std::endl;
    return kExitInterrupted;
  }
  if (outcome == TrainOutcome::kEarlyStopped) {
    std::cout << "early stopping after epoch " << state.epoch << ": the validation "
              << state.monitor << " has not improved for " << state.epoch - state.best_epoch
              << " epoch(s)" << std::endl;
  }
  if (validating && state.best_epoch > 0) {
    std::cout << "best epoch " << state.best_epoch << " (validation " << state.monitor << " "
              << fixed(state.best_metric, 4) << "): the model keeps its weights" << std::endl;
  }
  // The test figures of the weights the model ends with (the best epoch's, with validation).
  if (state.epoch >= args.epochs || (validating && state.best_epoch != state.epoch) ||
      last_evaluation.predictions.empty()) {
    last_evaluation = evaluate(model, data.test);
    write_run_pictures(args.out, title, state.history, last_evaluation, data.test, class_names);
  }

  const std::string model_path = (fs::path(args.out) / "model.safetensors").string();
  save_model(model_path, model.description, model.graph.layers());
  char accuracy[32];
  std::snprintf(accuracy, sizeof accuracy, "%.4f", last_evaluation.accuracy);
  std::cout << "test accuracy " << accuracy << " after epoch "
            << (validating && state.best_epoch > 0 ? state.best_epoch : state.epoch)
            << "; model saved to " << model_path << std::endl;
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArguments>();
  CLI::App* train = app.add_subcommand("train", "Train a model and write a run folder");
  train->add_option("--model", args->model,
                    "Preset (fashion-lenet, digits-cnn, iris-mlp) or model JSON file");
  train->add_option("--data", args->data,
                    "fashion-mnist[:DIR], mnist:DIR, idx:DIR, digits, iris, csv:PATH or "
                    "folder:DIR (default: the preset's data set)");
  train->add_option("--epochs", args->epochs, "Train until this many epochs are done")
      ->check(whole_number(1, kMaxCount))
      ->capture_default_str();
  train->add_option(
      "--out", args->out,
      "Run folder: model.safetensors, checkpoint.safetensors, metrics.csv, "
      "curves.png, confusion.png, samples.png (default: runs/<model name as a plain file name>)");
  train->add_option("--batch-size", args->batch_size, "Samples per batch (default: 64)")
      ->check(whole_number(1, kMaxBatchSize));
  train->add_option("--optimizer", args->optimizer, "Replace the model's optimizer")
      ->check(CLI::IsMember({"adam", "adamw", "sgd", "momentum"}));
  train->add_option("--learning-rate", args->learning_rate, "Replace the learning rate")
      ->check(positive_finite_number());
  train
      ->add_option("--loss-reduction", args->loss_reduction,
                   "Replace the loss's reduction over the batch: sum or mean")
      ->check(CLI::IsMember({"sum", "mean"}));
  add_update_options(*train, args->update);
  train->add_option("--seed", args->seed, "Seed of the initial weights and the shuffling")
      ->check(whole_number(0, std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  train->add_option("--threads", args->threads, "Threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  train->add_flag("--resume", args->resume,
                  "Continue the run in --out from its checkpoint, up to --epochs");
  train
      ->add_option("--validation-split", args->validation_split,
                   "Hold out this fraction of the training samples (a fixed split) to validate "
                   "on after every epoch; the model keeps the best epoch's weights")
      ->check(open_unit_fraction());
  train
      ->add_option("--early-stopping-patience", args->patience,
                   "Stop once the validation metric has not improved for this many epochs "
                   "(needs --validation-split)")
      ->check(whole_number(1, kMaxCount));
  train
      ->add_option("--monitor", args->monitor,
                   "Validation metric that picks the best epoch and early stopping watches "
                   "(default: loss)")
      ->check(CLI::IsMember({"loss", "accuracy"}));
  return {train, [args] { return run_train(*args); }};
}

}  // namespace cnnkit::cli
