// The epoch loop: shuffle, then for every batch the engine's training step (forward -> loss ->
// backward, gradients only -> update phase -> optimizers), then evaluate on the test set. It reads
// top to bottom in trainer.cpp; the callbacks let a caller draw progress, save checkpoints and stop
// early.
#pragma once

#include <cstddef>
#include <functional>

#include "cnnkit/data/augmentation.hpp"
#include "cnnkit/data/dataset.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/training_state.hpp"

namespace cnnkit {

struct TrainOptions {
  std::size_t epochs = 1;  // train until this many epochs are complete
  std::size_t batch_size = 64;
  std::size_t eval_batch_size = 1000;
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
};

enum class TrainOutcome { kCompleted, kStopped };

// Trains epochs state.epoch + 1 .. options.epochs. The training set is shuffled at the start of
// every epoch with the library's random engine; nothing else draws from it during training, so a
// state saved at the end of an epoch (save_random_state) continues the run exactly. Throws
// std::invalid_argument when the data does not fit the model or state.batch_size differs from
// options.batch_size (unless state.batch_size is 0: a new run), and std::runtime_error when the
// loss stops being finite (the run diverged: lower the learning rate).
// Each batch is one step of the run, counted from 0 over all epochs; the graph learns it with
// state.seed before the step's forward pass (Graph::set_step_context), which keys the layers'
// random numbers.
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
