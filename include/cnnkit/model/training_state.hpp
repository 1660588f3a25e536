// Where a training run stands: the epochs and steps done, their metrics, and the library's random
// engine, which (with the weights and optimizer states) is all a run needs to continue exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cnnkit {

// One epoch's figures. Losses are means per sample; accuracies fractions in [0, 1]; NaN when
// not measured (no test set).
struct EpochMetrics {
  std::size_t epoch = 0;  // 1-based
  double train_loss = std::numeric_limits<double>::quiet_NaN();
  double train_accuracy = std::numeric_limits<double>::quiet_NaN();
  double test_loss = std::numeric_limits<double>::quiet_NaN();
  double test_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0.0;  // wall time of the epoch, evaluation included
  // On the validation part held out of the training set (TrainOptions::validation_fraction).
  double validation_loss = std::numeric_limits<double>::quiet_NaN();
  double validation_accuracy = std::numeric_limits<double>::quiet_NaN();
};

struct TrainingState {
  std::size_t epoch = 0;       // epochs completed
  std::size_t batch_size = 0;  // the run's batch size (a resumed run must use the same)
  std::string random_state;    // random_engine() as operator<< writes it, at the end of `epoch`
  std::vector<EpochMetrics> history;  // one entry per completed epoch
  // The validation split and the best epoch so far (best_model.hpp); a resumed run must use the
  // same fraction and metric. best_epoch 0: no validation, or no epoch yet.
  double validation_fraction = 0.0;
  std::string monitor{};  // the validation metric ranking the epochs ("loss", "accuracy"), or ""
  std::size_t best_epoch = 0;
  double best_metric = std::numeric_limits<double>::quiet_NaN();
  std::uint64_t step = 0;  // training steps done: the learning-rate schedule's t
  // The run's seed, which keys dropout masks and augmentation draws (keyed_random.hpp); with the
  // epoch it fixes every such draw, so a resumed run draws what the whole run would have.
  std::uint64_t seed = 0;
};

// The library's random engine as text (std::mt19937_64's operator<<), and back. restore throws
// std::invalid_argument when the text is not such a state.
std::string save_random_state();
void restore_random_state(const std::string& state);

}  // namespace cnnkit
