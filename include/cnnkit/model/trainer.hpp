// The epoch loop: shuffle, then for every batch the engine's training step (forward -> loss ->
// backward, gradients only -> update phase -> optimizers), then evaluate on the test set. It reads
// top to bottom in trainer.cpp; the callbacks let a caller draw progress, save checkpoints and stop
// early.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "cnnkit/communicator.hpp"
#include "cnnkit/data/augmentation.hpp"
#include "cnnkit/data/dataset.hpp"
#include "cnnkit/model/best_model.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/training_state.hpp"

namespace cnnkit {

struct TrainOptions {
  std::size_t epochs = 1;  // train until this many epochs are complete
  std::size_t batch_size = 64;
  std::size_t eval_batch_size = 1000;
  // The part of the training set held out for validation, in (0, 1); 0: none. The split is a
  // shuffle with its own engine seeded by validation_seed (shuffled_split), so it is the same in
  // every epoch and in a resumed run, and it draws nothing from the library's engine.
  double validation_fraction = 0.0;
  std::uint64_t validation_seed = 0;
  // With validation: the metric that ranks the epochs, and the patience of early stopping (stop
  // once that many epochs in a row have not improved on the best; none: train every epoch).
  ValidationMetric monitor = ValidationMetric::kLoss;
  std::optional<std::size_t> early_stopping_patience{};
  // With validation: the model ends with the best epoch's weights (Keras's
  // restore_best_weights=True), whether the run stopped early or not. The checkpoints a caller
  // saves in on_epoch hold the weights of the epoch just done, from which a run continues.
  bool restore_best_weights = true;
  // Data-parallel training (docs/DISTRIBUTED.md): the batch in this many fixed groups, each
  // group's gradient one partial of the fixed-order sum (GroupedStep). 0: the plain training
  // step, on one process only. The same groups give the same bits on any number of ranks.
  std::size_t gradient_groups = 0;
  // The ranks sharing each batch (batch_size is the global batch); null: this process alone.
  // Every rank runs train() with the same data and options; callbacks.stop_requested on any
  // rank stops all of them after the same batch (with gradient_groups: the request rides along
  // with the gradients, so that no collective call of its own is needed).
  Communicator* communicator = nullptr;
  // Applied to the training batches only, keyed by state.seed (augmentation.hpp).
  Augmentation augmentation{};
};

// After every training batch.
struct BatchProgress {
  std::size_t epoch = 0;    // 1-based
  std::size_t epochs = 0;   // TrainOptions::epochs
  std::size_t batch = 0;    // 1-based, within the epoch
  std::size_t batches = 0;  // per epoch
  std::size_t samples = 0;  // seen so far in this epoch
  std::size_t samples_per_epoch = 0;
  double running_loss = 0.0;      // mean per sample over this epoch so far
  double running_accuracy = 0.0;  // over this epoch so far
  double seconds = 0.0;           // since the epoch began
};

template <typename T>
struct TrainCallbacks {
  std::function<void(const BatchProgress&)> on_batch;
  // After an epoch's evaluation, once `state` includes that epoch: save checkpoints here.
  std::function<void(const Model<T>&, const TrainingState&, const Evaluation&)> on_epoch;
  // Asked before every batch; true ends train() at once (the epoch in progress is lost, the state
  // stays at the last complete epoch).
  std::function<bool()> stop_requested;
  // Restores the weights of state.best_epoch into the model (from wherever on_epoch saved them when
  // state.best_epoch == state.epoch). Needed only by a resumed run whose best epoch came before the
  // resume (the trainer holds the best weights of its own epochs in memory); train() refuses to
  // start such a run without it.
  std::function<void(Model<T>&)> load_best;
};

// kEarlyStopped: the validation metric did not improve for `early_stopping_patience` epochs.
enum class TrainOutcome { kCompleted, kStopped, kEarlyStopped };

// Trains epochs state.epoch + 1 .. options.epochs. The training set is shuffled at the start of
// every epoch with the library's random engine; nothing else draws from it during training, so a
// state saved at the end of an epoch (save_random_state) continues the run exactly. With a
// validation fraction, the held-out part is evaluated after every epoch, ranks the epochs
// (state.best_epoch) and may stop the run early; the model then ends with the best weights (see
// TrainOptions). Throws std::invalid_argument when the data does not fit the model, an option is
// out of range (a validation fraction outside [0, 1) or one leaving either part empty, a patience
// of 0 or without validation), or a continued run (state.epoch > 0) differs in batch size,
// validation fraction or metric; and std::runtime_error when the loss stops being finite (the run
// diverged: lower the learning rate).
// Each batch is one step of the run, state.step, counted from 0 over all epochs. Before it, the
// learning-rate scale of every optimizer is set from the description's schedule at t =
// state.step, over T = options.epochs * ceil(N / batch) steps (N the samples trained on) unless
// the schedule gives total_steps (a warm-up longer than T throws std::invalid_argument before any
// step), and the graph learns the step with state.seed (Graph::set_step_context), which keys the
// layers' random numbers.
template <typename T>
TrainOutcome train(Model<T>& model, const Dataset<T>& train_set, const Dataset<T>& test_set,
                   const TrainOptions& options, TrainingState& state,
                   const TrainCallbacks<T>& callbacks = {});

extern template TrainOutcome train<float>(Model<float>&, const Dataset<float>&,
                                          const Dataset<float>&, const TrainOptions&,
                                          TrainingState&, const TrainCallbacks<float>&);
extern template TrainOutcome train<double>(Model<double>&, const Dataset<double>&,
                                           const Dataset<double>&, const TrainOptions&,
                                           TrainingState&, const TrainCallbacks<double>&);

}  // namespace cnnkit
