// cnnkit train: build (or resume) a model, train it epoch by epoch with a checkpoint after each,
// and leave a run folder with the model, the metrics and the pictures.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <thread>

#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "command.hpp"
#include "data_source.hpp"
#include "distributed.hpp"
#include "interrupt.hpp"
#include "number_options.hpp"
#include "progress.hpp"
#include "run_files.hpp"
#include "run_folder.hpp"
#include "train_options.hpp"

namespace cnnkit::cli {

namespace {

namespace fs = std::filesystem;

// Threads per rank under mpirun when --threads is 0: the cores shared among the ranks on this
// machine (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE), so that two ranks on two cores take one each.
std::size_t threads_per_rank(std::size_t threads) {
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
  if (threads != 0 || local == nullptr) return threads;
  const std::size_t ranks_here = std::max<std::size_t>(1, std::strtoull(local, nullptr, 10));
  return std::max<std::size_t>(1, std::thread::hardware_concurrency() / ranks_here);
}

int train_on_ranks(TrainArguments args, Ranks& ranks) {
  if (args.model.empty() && !args.resume) throw UsageError("expected --model <preset or file>");
  set_num_threads(ranks.distributed() ? threads_per_rank(args.threads) : args.threads);

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
  // Only rank 0 writes (and claims) the run folder; the others read a checkpoint from it.
  std::optional<RunFolder> folder;
  if (ranks.speaks()) folder.emplace(args.out);
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
  const TrainingRecipe recipe = default_recipe(description);
  if (args.augment.empty()) args.augment = recipe.augment;
  DataSplit data = load_data(args.data, description);
  require_fit(description, data);
  const Augmentation augmentation = apply_data_options(args, data);
  adopt_class_names(description, data);

  if (checkpoint) {
    require_same_run(args, description, data, checkpoint->state.batch_size, checkpoint_path);
    args.batch_size = checkpoint->state.batch_size;
  }
  const std::size_t batch_size = args.batch_size.value_or(recipe.batch_size);
  const std::size_t groups = args.gradient_groups.value_or(
      started_by_mpirun() ? std::max(kDefaultMpiGradientGroups, ranks.size()) : 0);
  if (batch_size < ranks.size()) {
    throw CollectiveError("--batch-size: expected at least one sample per rank (" +
                          std::to_string(ranks.size()) + " ranks; the batch size is the global " +
                          "batch), got " + std::to_string(batch_size));
  }
  if (ranks.distributed() && groups < ranks.size()) {
    throw CollectiveError("--gradient-groups: expected at least one group per rank (" +
                          std::to_string(ranks.size()) + " ranks), got " + std::to_string(groups));
  }

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
  TrainOptions options = validation_options(args, state);
  options.augmentation = augmentation;
  options.epochs = args.epochs;
  options.batch_size = batch_size;
  options.eval_batch_size = 1000;
  options.gradient_groups = groups;
  options.communicator = &ranks.communicator();
  const bool validating = options.validation_fraction > 0.0;
  if (ranks.distributed()) {
    require_same_everywhere(ranks.communicator(), data.train, data.test, model, state,
                            std::to_string(batch_size) + " " + std::to_string(args.epochs) + " " +
                                std::to_string(groups) + " " + std::to_string(args.seed) + " " +
                                std::to_string(options.validation_fraction));
  }

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
            << ", batch " << batch_size
            << (args.augment.empty() || args.augment == "none" ? std::string()
                                                               : ", augment " + args.augment)
            << ", " << optimizer_text(description) << ", "
            << (checkpoint ? "resuming after epoch " + std::to_string(state.epoch)
                           : "seed " + std::to_string(args.seed))
            << ", " << num_threads() << " thread(s)"
            << (ranks.distributed() ? " on each of " + std::to_string(ranks.size()) + " ranks (" +
                                          ranks.communicator().name() + ")"
                                    : std::string())
            << (groups > 0 ? ", " + std::to_string(groups) + " gradient groups" : std::string())
            << std::endl;

  // ---- train, with a checkpoint, metrics and pictures after every epoch
  const std::string title = description.name + " on " + data.spec;
  const std::vector<std::string>& class_names = description.classes;
  ProgressDisplay display(std::cout, stdout_is_terminal());
  Evaluation last_evaluation;
  TrainCallbacks<float> callbacks;
  if (ranks.speaks()) {
    callbacks.on_batch = [&](const BatchProgress& progress) { display.batch(progress); };
  }
  // The best epoch's weights (validation): model.safetensors at the end, and what a resumed run
  // goes back to when its best epoch came before the resume.
  const std::string best_path = (fs::path(args.out) / "best.safetensors").string();
  callbacks.on_epoch = [&](const Model<float>& trained, const TrainingState& now,
                           const Evaluation& evaluation) {
    last_evaluation = evaluation;
    if (!ranks.speaks()) return;
    display.epoch_done(now.history.back(), args.epochs);
    if (validating && now.best_epoch == now.epoch) {
      save_model(best_path, trained.description, trained.graph.layers());
    }
    save_checkpoint(checkpoint_path, trained, now);
    write_metrics_csv((fs::path(args.out) / "metrics.csv").string(), now.history);
    write_run_pictures(args.out, title, now.history, evaluation, data.test, class_names);
  };
  callbacks.stop_requested = interrupt_requested;
  callbacks.load_best = [&](Model<float>& into) {
    Model<float> best = load_model<float>(best_path);
    restore_weights(into, copy_weights(best));
  };
  install_interrupt_handlers();

  if (state.epoch >= args.epochs && ranks.speaks()) {
    std::cout << "the checkpoint is already at epoch " << state.epoch << " of " << args.epochs
              << ": nothing to train" << std::endl;
  }
  // With nothing left to train, train() only goes back to the best epoch (with validation).
  const TrainOutcome outcome = train(model, data.train, data.test, options, state, callbacks);
  if (outcome == TrainOutcome::kStopped) {
    if (!ranks.speaks()) return kExitInterrupted;
    display.clear();
    std::cerr << "cnnkit train: interrupted in epoch " << state.epoch + 1 << "; "
              << (state.epoch > 0 ? checkpoint_path + " holds epoch " +
                                        std::to_string(state.epoch) + " (continue with --resume)"
                                  : std::string("no epoch was completed"))
              << std::endl;
    return kExitInterrupted;
  }
  if (outcome == TrainOutcome::kEarlyStopped && ranks.speaks()) {
    std::cout << "early stopping after epoch " << state.epoch << ": the validation "
              << state.monitor << " has not improved for " << state.epoch - state.best_epoch
              << " epoch(s)" << std::endl;
  }
  if (validating && state.best_epoch > 0 && ranks.speaks()) {
    std::cout << "best epoch " << state.best_epoch << " (validation " << state.monitor << " "
              << fixed(state.best_metric, 4) << "): the model keeps its weights" << std::endl;
  }
  // The test figures of the weights the model ends with (the best epoch's, with validation).
  if (state.epoch >= args.epochs || (validating && state.best_epoch != state.epoch) ||
      last_evaluation.predictions.empty()) {
    last_evaluation = evaluate(model, data.test);
    if (ranks.speaks()) {
      write_run_pictures(args.out, title, state.history, last_evaluation, data.test, class_names);
    }
  }

  if (!ranks.speaks()) return 0;
  const std::string model_path = (fs::path(args.out) / "model.safetensors").string();
  save_model(model_path, model.description, model.graph.layers());
  char accuracy[32];
  std::snprintf(accuracy, sizeof accuracy, "%.4f", last_evaluation.accuracy);
  std::cout << "test accuracy " << accuracy << " after epoch "
            << (validating && state.best_epoch > 0 ? state.best_epoch : state.epoch)
            << "; model saved to " << model_path << std::endl;
  return 0;
}

// Under mpirun, an error every rank met is printed once (rank 0) and every rank exits; an error of
// one rank alone is printed with its rank and ends the whole job (the others would wait for it).
int run_train(const TrainArguments& args) {
  std::optional<Ranks> ranks;
  try {
    ranks.emplace();
  } catch (const CommunicatorError& error) {
    // Every rank fails alike, each on its own: rank 0 says so, every rank exits.
    if (launcher_rank() == 0) std::cerr << "cnnkit train: " << error.what() << std::endl;
    return kExitFailure;
  }
  if (!ranks->distributed()) return train_on_ranks(args, *ranks);
  try {
    return train_on_ranks(args, *ranks);
  } catch (const CollectiveError& error) {
    if (ranks->speaks()) std::cerr << "cnnkit train: " << error.what() << std::endl;
    return kExitFailure;
  } catch (const UsageError& error) {  // from the command line, the same on every rank
    if (ranks->speaks()) {
      std::cerr << "cnnkit train: " << error.what() << " (see cnnkit train --help)" << std::endl;
    }
    return kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << "cnnkit train (rank " << ranks->rank() << " of " << ranks->size()
              << "): " << error.what() << std::endl;
    ranks->communicator().abort(kExitFailure);
  }
  return kExitFailure;  // not reached: abort() ends the process
}

}  // namespace

Command add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArguments>();
  CLI::App* train = app.add_subcommand("train", "Train a model and write a run folder");
  train->add_option(
      "--model", args->model,
      "Preset (fashion-lenet, fashion-resnet, digits-cnn, iris-mlp) or model JSON file");
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
  train
      ->add_option("--batch-size", args->batch_size,
                   "Samples per batch (default: 64; fashion-resnet: 128)")
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
  train
      ->add_option("--seed", args->seed,
                   "Seed of the initial weights, the shuffling, dropout and augmentation")
      ->check(whole_number(0, std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  train->add_option("--threads", args->threads, "Threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  train
      ->add_option("--gradient-groups", args->gradient_groups,
                   "Sum the gradients over this many fixed groups of each batch, for the same "
                   "bits on any number of ranks (default: 8 under mpirun, else the plain step)")
      ->check(whole_number(1, kMaxBatchSize));
  train->add_option("--augment", args->augment,
                    "Augment the training images (default: none; fashion-resnet: crop=2,flip): "
                    "none, crop=P (zero-pad P, crop back), flip[=Q] "
                    "(horizontal, probability Q, default 0.5), comma-separated, e.g. crop=2,flip");
  train->add_option("--normalize", args->normalize,
                    "Normalise the input per channel, as the model's first layer (saved with it): "
                    "MEAN,STD (one value each, or one per channel separated by ':')");
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
