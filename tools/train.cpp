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

#include "augment_options.hpp"
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
  std::uint64_t seed = 0;
  std::size_t threads = 0;
  bool resume = false;
  std::string augment;    // --augment, e.g. "crop=2,flip"
  std::string normalize;  // --normalize, e.g. "0.286,0.353"
};

// --optimizer and --learning-rate change the description (so they are kept in the model file).
void apply_overrides(ModelDescription& description, const TrainArguments& args) {
  if (!args.optimizer.empty()) {
    const std::string type = args.optimizer == "adam"  ? "Adam"
                             : args.optimizer == "sgd" ? "Sgd"
                                                       : "SgdWithMomentum";
    if (type != description.optimizer.type) {
      const double learning_rate = description.optimizer.learning_rate;
      description.optimizer = OptimizerSpec{};
      description.optimizer.type = type;
      description.optimizer.learning_rate = learning_rate;
    }
  }
  if (args.learning_rate) description.optimizer.learning_rate = *args.learning_rate;
  validate(description);
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
    throw std::invalid_argument("model '" + description.name + "' expects input " +
                                to_string(description.input_shape) + ", data '" + data.spec +
                                "' has samples of shape " + to_string(sample));
  }
  const std::size_t outputs = num_outputs(description);
  if (data.train.num_classes() != outputs) {
    throw std::invalid_argument("model '" + description.name + "' predicts " +
                                std::to_string(outputs) + " classes, data '" + data.spec +
                                "' has " + std::to_string(data.train.num_classes()));
  }
}

// --augment fits the training samples; --normalize is applied to the training and the test set.
// A value that does not fit the data is a usage error naming the option.
Augmentation apply_data_options(const TrainArguments& args, DataSplit& data) {
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
  if (!args.normalize.empty()) {
    const Normalization normalization = parse_normalization(args.normalize);
    as_usage_error("--normalize", [&] {
      normalize(data.train, normalization);
      if (data.test.size() > 0) normalize(data.test, normalization);
    });
  }
  return augmentation;
}

std::string optimizer_text(const OptimizerSpec& spec) {
  std::ostringstream text;
  text << spec.type << " learning rate " << spec.learning_rate;
  return text.str();
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
  DataSplit data = load_data(args.data, description);
  require_fit(description, data);
  const Augmentation augmentation = apply_data_options(args, data);
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
    } else if (!args.optimizer.empty() || args.learning_rate) {
      ModelDescription asked = description;
      apply_overrides(asked, args);
      if (asked != description) {
        throw UsageError("--resume: expected the optimizer of the run being continued (" +
                         optimizer_text(description.optimizer) + ")");
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
    state.seed = args.seed;
    model = build_model<float>(description);
  }
  model.description = description;  // with the class names

  std::cout << "model " << description.name << " (" << summarize(description).total_parameters
            << " parameters), data " << data.spec << ": " << data.train.size() << " training / "
            << data.test.size() << " test samples, batch " << batch_size << ", "
            << optimizer_text(description.optimizer) << ", "
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
  callbacks.on_epoch = [&](const Model<float>& trained, const TrainingState& now,
                           const Evaluation& evaluation) {
    display.epoch_done(now.history.back(), args.epochs);
    save_checkpoint(checkpoint_path, trained, now);
    write_metrics_csv((fs::path(args.out) / "metrics.csv").string(), now.history);
    write_run_pictures(args.out, title, now.history, evaluation, data.test, class_names);
    last_evaluation = evaluation;
  };
  callbacks.stop_requested = interrupt_requested;
  install_interrupt_handlers();

  if (state.epoch >= args.epochs) {
    std::cout << "the checkpoint is already at epoch " << state.epoch << " of " << args.epochs
              << ": nothing to train" << std::endl;
    last_evaluation = evaluate(model, data.test);
    write_run_pictures(args.out, title, state.history, last_evaluation, data.test, class_names);
  } else {
    TrainOptions options{args.epochs, batch_size, 1000};
    options.augmentation = augmentation;
    if (train(model, data.train, data.test, options, state, callbacks) == TrainOutcome::kStopped) {
      display.clear();
      std::cerr << "cnnkit train: interrupted in epoch " << state.epoch + 1 << "; "
                << (state.epoch > 0 ? checkpoint_path + " holds epoch " +
                                          std::to_string(state.epoch) + " (continue with --resume)"
                                    : std::string("no epoch was completed"))
                << std::endl;
      return kExitInterrupted;
    }
  }

  const std::string model_path = (fs::path(args.out) / "model.safetensors").string();
  save_model(model_path, model.description, model.graph.layers());
  char accuracy[32];
  std::snprintf(accuracy, sizeof accuracy, "%.4f", last_evaluation.accuracy);
  std::cout << "test accuracy " << accuracy << " after epoch " << state.epoch << "; model saved to "
            << model_path << std::endl;
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
      ->check(CLI::IsMember({"adam", "sgd", "momentum"}));
  train->add_option("--learning-rate", args->learning_rate, "Replace the learning rate")
      ->check(positive_finite_number());
  train
      ->add_option("--seed", args->seed,
                   "Seed of the initial weights, the shuffling, dropout and augmentation")
      ->check(whole_number(0, std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  train->add_option("--threads", args->threads, "Threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  train->add_option("--augment", args->augment,
                    "Augment the training images: crop=P (zero-pad P, crop back), flip[=Q] "
                    "(horizontal, probability Q, default 0.5), comma-separated, e.g. crop=2,flip");
  train->add_option("--normalize", args->normalize,
                    "Normalise training and test data per channel: MEAN,STD (one value each, or "
                    "one per channel separated by ':')");
  train->add_flag("--resume", args->resume,
                  "Continue the run in --out from its checkpoint, up to --epochs");
  return {train, [args] { return run_train(*args); }};
}

}  // namespace cnnkit::cli
