// The training loop, one epoch after the other:
//   shuffle -> for each batch: the training step of training_step.hpp (forward through the graph
//   -> loss -> the schedule's learning rate for this step -> backward, gradients only -> update
//   phase -> optimizers) -> evaluate on the validation part and the test set -> record the epoch
//   -> keep the best weights, stop early.
#include "cnnkit/model/trainer.hpp"

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/grouped_step.hpp"
#include "cnnkit/model/distributed_evaluation.hpp"
#include "cnnkit/schedule.hpp"
#include "cnnkit/training_step.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cnnkit {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The options a run with validation needs, and that a continued run keeps its own.
void check_validation_options(const TrainOptions& options, const TrainingState& state) {
  const double fraction = options.validation_fraction;
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    throw std::invalid_argument(
        "train: expected a validation fraction in (0, 1), or 0 for none, "
        "got " +
        std::to_string(fraction));
  }
  if (options.early_stopping_patience && *options.early_stopping_patience == 0) {
    throw std::invalid_argument(
        "train: expected an early stopping patience of at least 1 epoch, "
        "got 0");
  }
  if (options.early_stopping_patience && fraction == 0.0) {
    throw std::invalid_argument(
        "train: expected a validation fraction for early stopping (it "
        "watches the validation " +
        to_string(options.monitor) + "), got none");
  }
  if (state.epoch == 0) return;
  if (state.validation_fraction != fraction) {
    throw std::invalid_argument(
        "train: expected the validation fraction of the run being "
        "continued (" +
        std::to_string(state.validation_fraction) + "), got " + std::to_string(fraction));
  }
  if (fraction > 0.0 && state.monitor != to_string(options.monitor)) {
    throw std::invalid_argument(
        "train: expected the validation metric of the run being continued (" + state.monitor +
        "), got " + to_string(options.monitor));
  }
}

// The training set without its validation part, and that part: a fixed shuffle of its own
// (shuffled_split), so every epoch and every resumed run sees the same two parts.
template <typename T>
std::pair<Dataset<T>, Dataset<T>> validation_split(const Dataset<T>& train_set,
                                                   const TrainOptions& options) {
  auto parts =
      shuffled_split(train_set, 1.0 - options.validation_fraction, options.validation_seed);
  if (parts.first.size() == 0 || parts.second.size() == 0) {
    throw std::invalid_argument(
        "train: expected a validation fraction that leaves samples for training and for "
        "validation, got " +
        std::to_string(options.validation_fraction) + " of " + std::to_string(train_set.size()) +
        " samples (" + std::to_string(parts.first.size()) + " for training, " +
        std::to_string(parts.second.size()) + " for validation)");
  }
  return parts;
}

}  // namespace

template <typename T>
TrainOutcome train(Model<T>& model, const Dataset<T>& train_set, const Dataset<T>& test_set,
                   const TrainOptions& options, TrainingState& state,
                   const TrainCallbacks<T>& callbacks) {
  require_data_fits(model, train_set, "the training set");
  if (test_set.size() > 0) require_data_fits(model, test_set, "the test set");
  if (options.batch_size == 0 || options.eval_batch_size == 0) {
    throw std::invalid_argument("train: expected batch sizes > 0, got " +
                                std::to_string(options.batch_size) + " and " +
                                std::to_string(options.eval_batch_size));
  }
  if (state.batch_size != 0 && state.batch_size != options.batch_size) {
    throw std::invalid_argument("train: expected the batch size of the run being continued (" +
                                std::to_string(state.batch_size) + "), got " +
                                std::to_string(options.batch_size));
  }
  check_validation_options(options, state);
  state.batch_size = options.batch_size;
  // Data-parallel (or grouped on one process): GroupedStep instead of the plain step.
  SingleProcess single_process;
  Communicator& communicator = options.communicator ? *options.communicator : single_process;
  if (communicator.size() > 1 && options.gradient_groups == 0) {
    throw std::invalid_argument(
        "train: expected gradient_groups >= " + std::to_string(communicator.size()) + " on " +
        std::to_string(communicator.size()) + " ranks, got 0");
  }
  if (options.batch_size < communicator.size()) {
    throw std::invalid_argument("train: expected a batch size of at least one sample per rank (" +
                                std::to_string(communicator.size()) + "), got " +
                                std::to_string(options.batch_size));
  }
  std::optional<GroupedStep<T>> grouped;
  if (options.gradient_groups > 0) {
    // Copies of the graph for the groups a rank runs side by side (synchronised BatchNorm): their
    // weights come from the model at every step, and building them leaves the library's random
    // engine as it was.
    const auto make_graph = [&model] {
      const std::string random_state = save_random_state();
      Graph<T> graph = build_model<T>(model.description).graph;
      restore_random_state(random_state);
      return graph;
    };
    grouped.emplace(model.graph, *model.loss, communicator, options.gradient_groups, make_graph);
  }
  const auto stop_asked = [&] { return callbacks.stop_requested && callbacks.stop_requested(); };

  const bool validating = options.validation_fraction > 0.0;
  std::pair<Dataset<T>, Dataset<T>> parts;
  if (validating) {
    parts = validation_split(train_set, options);
    state.validation_fraction = options.validation_fraction;
    state.monitor = to_string(options.monitor);
  }
  const Dataset<T>& fit_set = validating ? parts.first : train_set;
  const Dataset<T>& validation_set = parts.second;
  // The schedule over the whole run as asked now: T = epochs * ceil(N / batch), N the samples
  // trained on, unless the description fixes it.
  const std::size_t batches_per_epoch =
      (fit_set.size() + options.batch_size - 1) / options.batch_size;
  const LearningRateSchedule schedule(
      model.description.schedule, static_cast<std::uint64_t>(options.epochs) * batches_per_epoch);

  // The best epoch's weights, while they are in memory: from this call's epochs, or the current
  // ones when the run continues from its best epoch.
  const bool keep_best = validating && options.restore_best_weights;
  std::optional<ModelWeights<T>> best_weights;
  if (keep_best && state.best_epoch > 0 && state.best_epoch == state.epoch) {
    best_weights = copy_weights(model);
  }
  if (keep_best && state.best_epoch > 0 && !best_weights && !callbacks.load_best) {
    throw std::invalid_argument("train: expected callbacks.load_best to restore the best epoch " +
                                std::to_string(state.best_epoch) +
                                " of the run being continued (after epoch " +
                                std::to_string(state.epoch) + "), got none");
  }
  // The end of a run with validation: back to the best epoch's weights.
  const auto restore_best = [&] {
    if (!keep_best || state.best_epoch == 0 || state.best_epoch == state.epoch) return;
    if (best_weights) {
      restore_weights(model, *best_weights);
    } else {
      callbacks.load_best(model);
    }
  };
  // A continued run that had already stopped early stays stopped.
  if (validating && options.early_stopping_patience && state.epoch > 0 &&
      state.epoch - state.best_epoch >= *options.early_stopping_patience) {
    restore_best();
    return TrainOutcome::kEarlyStopped;
  }
  validate(options.augmentation, train_set.sample_shape());

  for (std::size_t epoch = state.epoch + 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    // A fresh iterator per epoch shuffles on its first next(): in a resumed run too.
    BatchIterator<T> batches(fit_set, options.batch_size);
    if (options.augmentation.enabled()) {
      batches.set_augmentation(options.augmentation, state.seed, epoch);
    }
    BatchProgress progress{
        epoch, options.epochs, 0, batches.batches_per_epoch(), 0, fit_set.size(), 0.0, 0.0, 0.0};
    double loss_sum = 0.0;
    std::size_t correct = 0;
    std::vector<std::size_t> predicted;  // per batch, reused
    // Sees each prediction before the loss takes it; built once per epoch (no allocation per
    // batch).
    const std::function<void(const Tensor<T>&)> count_correct = [&](const Tensor<T>& prediction) {
      argmax_rows(prediction, predicted);
      for (std::size_t n = 0; n < predicted.size(); ++n) {
        if (predicted[n] == batches.last_labels()[n]) ++correct;
      }
    };

    for (std::size_t b = 0; b < batches.batches_per_epoch(); ++b) {
      // The grouped step passes a stop request to every rank with the gradients, and all stop
      // after that batch (the epoch in progress is lost either way).
      if (!grouped && stop_asked()) return TrainOutcome::kStopped;
      Batch<T> batch = batches.next();
      model.graph.set_step_context({.seed = state.seed, .step = state.step});

      std::size_t batch_samples = batch.label.dim(0);
      // The learning rate of this step, set before either step runs its update phase.
      set_learning_rate_scale(model.graph, schedule.scale(state.step));
      T loss;
      if (grouped) {
        const GroupedStepResult result =
            grouped->step(batch.input, batch.label, batches.last_labels(), stop_asked());
        if (result.stop) return TrainOutcome::kStopped;
        loss = static_cast<T>(result.loss);
        correct += result.correct;
      } else {
        loss = forward_and_loss(model.graph, *model.loss, std::move(batch.input), batch.label,
                                "train", count_correct);
        batch_samples = predicted.size();
      }
      if (!std::isfinite(loss)) {
        throw std::runtime_error("train: the loss became " + std::to_string(loss) + " in epoch " +
                                 std::to_string(epoch) + ", batch " + std::to_string(b + 1) +
                                 " (the run diverged: lower the learning rate)");
      }
      if (grouped) {
        batches.recycle(std::move(batch));
      } else {
        // The buffers of this batch take the next one (the spent input has the input's shape).
        Tensor<T> spent_input = backward_and_update(model.graph, *model.loss, batch.label);
        batches.recycle(Batch<T>{std::move(spent_input), std::move(batch.label)});
      }
      ++state.step;

      loss_sum += model.loss->batch_sum(loss, batch_samples);
      progress.batch = b + 1;
      progress.samples += batch_samples;
      progress.running_loss = loss_sum / static_cast<double>(progress.samples);
      progress.running_accuracy =
          static_cast<double>(correct) / static_cast<double>(progress.samples);
      progress.seconds = seconds_since(start);
      if (callbacks.on_batch) callbacks.on_batch(progress);
    }

    EpochMetrics metrics;
    metrics.epoch = epoch;
    metrics.train_loss = progress.running_loss;
    metrics.train_accuracy = progress.running_accuracy;
    if (validating) {
      const Evaluation validation = evaluate(model, validation_set, options.eval_batch_size);
      metrics.validation_loss = validation.loss;
      metrics.validation_accuracy = validation.accuracy;
    }
    Evaluation evaluation;
    if (test_set.size() > 0) {
      evaluation = evaluate(model, test_set, options.eval_batch_size, communicator);
      metrics.test_loss = evaluation.loss;
      metrics.test_accuracy = evaluation.accuracy;
    }
    metrics.seconds = seconds_since(start);

    state.epoch = epoch;
    state.history.push_back(metrics);
    MonitorVerdict verdict;
    if (validating) {
      verdict = monitor_epoch(state, metrics, options.monitor, options.early_stopping_patience);
      if (verdict.improved && keep_best) best_weights = copy_weights(model);
    }
    state.random_state = save_random_state();
    if (callbacks.on_epoch) callbacks.on_epoch(model, state, evaluation);
    if (verdict.stop) {
      restore_best();
      return TrainOutcome::kEarlyStopped;
    }
  }
  restore_best();
  return TrainOutcome::kCompleted;
}

template TrainOutcome train<float>(Model<float>&, const Dataset<float>&, const Dataset<float>&,
                                   const TrainOptions&, TrainingState&,
                                   const TrainCallbacks<float>&);
template TrainOutcome train<double>(Model<double>&, const Dataset<double>&, const Dataset<double>&,
                                    const TrainOptions&, TrainingState&,
                                    const TrainCallbacks<double>&);

}  // namespace cnnkit
