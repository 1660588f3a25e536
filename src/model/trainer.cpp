// The training loop, one epoch after the other:
//   shuffle -> for each batch: the training step of training_step.hpp (forward through the graph
//   -> loss -> backward, gradients only -> update phase -> optimizers) -> evaluate on the test set
//   -> record the epoch.
#include "cnnkit/model/trainer.hpp"

#include "cnnkit/training_step.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cnnkit {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
  state.batch_size = options.batch_size;
  validate(options.augmentation, train_set.sample_shape());

  for (std::size_t epoch = state.epoch + 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    // A fresh iterator per epoch shuffles on its first next(): in a resumed run too.
    BatchIterator<T> batches(train_set, options.batch_size);
    if (options.augmentation.enabled()) {
      batches.set_augmentation(options.augmentation, state.seed, epoch);
    }
    // The run's step count: every epoch has the same number of batches.
    const std::uint64_t first_step = (epoch - 1) * batches.batches_per_epoch();
    BatchProgress progress{
        epoch, options.epochs, 0, batches.batches_per_epoch(), 0, train_set.size(), 0.0, 0.0, 0.0};
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
      if (callbacks.stop_requested && callbacks.stop_requested()) return TrainOutcome::kStopped;
      Batch<T> batch = batches.next();
      model.graph.set_step_context({.seed = state.seed, .step = first_step + b});

      const T loss = forward_and_loss(model.graph, *model.loss, std::move(batch.input), batch.label,
                                      "train", count_correct);
      if (!std::isfinite(loss)) {
        throw std::runtime_error("train: the loss became " + std::to_string(loss) + " in epoch " +
                                 std::to_string(epoch) + ", batch " + std::to_string(b + 1) +
                                 " (the run diverged: lower the learning rate)");
      }
      // The buffers of this batch take the next one (the spent input has the input's shape).
      Tensor<T> spent_input = backward_and_update(model.graph, *model.loss, batch.label);
      batches.recycle(Batch<T>{std::move(spent_input), std::move(batch.label)});

      loss_sum += static_cast<double>(loss);
      progress.batch = b + 1;
      progress.samples += predicted.size();
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
    Evaluation evaluation;
    if (test_set.size() > 0) {
      evaluation = evaluate(model, test_set, options.eval_batch_size);
      metrics.test_loss = evaluation.loss;
      metrics.test_accuracy = evaluation.accuracy;
    }
    metrics.seconds = seconds_since(start);

    state.epoch = epoch;
    state.history.push_back(metrics);
    state.random_state = save_random_state();
    if (callbacks.on_epoch) callbacks.on_epoch(model, state, evaluation);
  }
  return TrainOutcome::kCompleted;
}

template TrainOutcome train<float>(Model<float>&, const Dataset<float>&, const Dataset<float>&,
                                   const TrainOptions&, TrainingState&,
                                   const TrainCallbacks<float>&);
template TrainOutcome train<double>(Model<double>&, const Dataset<double>&, const Dataset<double>&,
                                    const TrainOptions&, TrainingState&,
                                    const TrainCallbacks<double>&);

}  // namespace cnnkit
