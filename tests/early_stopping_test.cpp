// Validation split, early stopping and the best epoch's weights: the stopping rule on given metric
// sequences, then real runs of the trainer (the split fixed across epochs and resumes, the model
// ending with the best epoch's weights, a resumed run keeping its best epoch) and the bad options.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/model/best_model.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::expect_throw_with;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Feeds validation losses (or accuracies) epoch by epoch; returns the epoch the rule stops after
// (0: never) and leaves the state's best epoch and metric.
std::size_t stopping_epoch(const std::vector<double>& values, ValidationMetric metric,
                           std::optional<std::size_t> patience, TrainingState& state) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    EpochMetrics metrics;
    metrics.epoch = i + 1;
    (metric == ValidationMetric::kLoss ? metrics.validation_loss : metrics.validation_accuracy) =
        values[i];
    state.epoch = metrics.epoch;
    if (monitor_epoch(state, metrics, metric, patience).stop) return metrics.epoch;
  }
  return 0;
}

TEST(EarlyStopping, LossSequenceStopsAfterPatienceEpochsWithoutImprovement) {
  // Best 0.8 at epoch 2; epoch 4 only ties it, which is no improvement: epochs 3, 4, 5 make 3.
  TrainingState state;
  EXPECT_EQ(stopping_epoch({1.0, 0.8, 0.85, 0.8, 0.9, 0.1}, ValidationMetric::kLoss, 3, state), 5u);
  EXPECT_EQ(state.best_epoch, 2u);
  EXPECT_EQ(state.best_metric, 0.8);
}

TEST(EarlyStopping, AccuracyRisingLateResetsThePatience) {
  TrainingState state;
  // Improvements at 1, 2 and 4 (0.5 -> 0.7 -> 0.9); then 5 and 6 without: stop after 6.
  EXPECT_EQ(
      stopping_epoch({0.5, 0.7, 0.6, 0.9, 0.9, 0.2, 1.0}, ValidationMetric::kAccuracy, 2, state),
      6u);
  EXPECT_EQ(state.best_epoch, 4u);
  EXPECT_EQ(state.best_metric, 0.9);
}

TEST(EarlyStopping, NoPatienceNeverStopsButStillTracksTheBest) {
  TrainingState state;
  EXPECT_EQ(stopping_epoch({3.0, 2.0, 4.0, 5.0, 6.0}, ValidationMetric::kLoss, std::nullopt, state),
            0u);
  EXPECT_EQ(state.best_epoch, 2u);
}

TEST(EarlyStopping, NaNNeverImproves) {
  TrainingState state;
  EXPECT_EQ(stopping_epoch({kNaN, 2.0, kNaN, kNaN}, ValidationMetric::kLoss, 2, state), 4u);
  EXPECT_EQ(state.best_epoch, 2u);
}

TEST(EarlyStopping, MetricNames) {
  EXPECT_EQ(to_string(ValidationMetric::kAccuracy), "accuracy");
  EXPECT_EQ(validation_metric_from_string("loss"), ValidationMetric::kLoss);
  expect_throw_with<std::invalid_argument>([] { validation_metric_from_string("f1"); },
                                           {"\"loss\" or \"accuracy\"", "\"f1\""});
}

// ---- the trainer with a validation split

Dataset<float> iris() {
  return load_iris<float>(std::string(CNNKIT_DATA_DIR) + "/iris.csv");
}

// Iris MLP with a learning rate high enough that the validation loss turns up within a few epochs.
Model<float> iris_model(std::uint64_t seed) {
  ModelDescription description = preset("iris-mlp");
  description.optimizer.learning_rate = 0.05;
  set_seed(seed);
  return build_model<float>(description);
}

TrainOptions validation_options(std::size_t epochs) {
  TrainOptions options{epochs, 16, 1000};
  options.validation_fraction = 0.2;
  options.validation_seed = 11;
  options.early_stopping_patience = 2;
  return options;
}

TEST(ValidationSplit, EndToEndStopsAtTheRightEpochAndRestoresTheBestWeights) {
  set_num_threads(1);
  const Dataset<float> data = iris();
  Model<float> model = iris_model(5);
  TrainingState state;
  std::vector<ModelWeights<float>> weights_after;  // every epoch's weights, as on_epoch sees them
  std::size_t samples_per_epoch = 0;
  TrainCallbacks<float> callbacks;
  callbacks.on_batch = [&](const BatchProgress& p) { samples_per_epoch = p.samples_per_epoch; };
  callbacks.on_epoch = [&](const Model<float>& m, const TrainingState&, const Evaluation&) {
    weights_after.push_back(copy_weights(m));
  };
  const TrainOutcome outcome =
      train(model, data, Dataset<float>{}, validation_options(60), state, callbacks);
  ASSERT_EQ(outcome, TrainOutcome::kEarlyStopped) << "ran all " << state.epoch << " epochs";

  // 150 samples: 30 held out, 120 trained on.
  EXPECT_EQ(samples_per_epoch, 120u);
  // The best epoch is the first minimum of the validation losses, and the run stopped exactly
  // patience epochs after it.
  std::size_t best = 0;
  for (const EpochMetrics& m : state.history) {
    ASSERT_TRUE(std::isfinite(m.validation_loss));
    if (best == 0 || m.validation_loss < state.history[best - 1].validation_loss) best = m.epoch;
  }
  EXPECT_EQ(state.best_epoch, best);
  EXPECT_EQ(state.best_metric, state.history[best - 1].validation_loss);
  EXPECT_EQ(state.epoch, best + 2);
  EXPECT_LT(state.epoch, 60u);

  // The model ends with the best epoch's weights, bit for bit, and so its validation loss.
  const ModelWeights<float> final_weights = copy_weights(model);
  ASSERT_EQ(final_weights.tensors.size(), weights_after[best - 1].tensors.size());
  for (std::size_t i = 0; i < final_weights.tensors.size(); ++i) {
    EXPECT_EQ(final_weights.tensors[i], weights_after[best - 1].tensors[i]) << "tensor " << i;
  }
  const Dataset<float> validation = shuffled_split(data, 0.8, 11).second;
  EXPECT_EQ(evaluate(model, validation).loss, state.best_metric);
}

// The split is the same in every call: 4 epochs straight equal 2 + 2 continued from a checkpoint,
// validation figures and weights bit for bit, and the best epoch survives the checkpoint.
TEST(ValidationSplit, ResumedRunSeesTheSameSplitAndKeepsItsBestEpoch) {
  set_num_threads(1);
  const testing::TempDir dir;
  const std::string checkpoint_path = (dir.path() / "checkpoint.safetensors").string();
  const std::string best_path = (dir.path() / "best.safetensors").string();
  const Dataset<float> data = iris();
  TrainOptions options = validation_options(4);
  options.early_stopping_patience.reset();

  Model<float> straight = iris_model(8);
  TrainingState straight_state;
  ASSERT_EQ(train(straight, data, Dataset<float>{}, options, straight_state),
            TrainOutcome::kCompleted);

  Model<float> first = iris_model(8);
  TrainingState first_state;
  TrainCallbacks<float> save;
  save.on_epoch = [&](const Model<float>& m, const TrainingState& s, const Evaluation&) {
    if (s.best_epoch == s.epoch) save_model(best_path, m.description, m.graph.layers());
    save_checkpoint(checkpoint_path, m, s);
  };
  options.epochs = 2;
  train(first, data, Dataset<float>{}, options, first_state, save);

  Checkpoint<float> checkpoint = load_checkpoint<float>(checkpoint_path);
  EXPECT_EQ(checkpoint.state.validation_fraction, 0.2);
  EXPECT_EQ(checkpoint.state.monitor, "loss");
  EXPECT_EQ(checkpoint.state.best_epoch, first_state.best_epoch);
  EXPECT_EQ(checkpoint.state.best_metric, first_state.best_metric);
  EXPECT_EQ(checkpoint.state.history[1].validation_loss, first_state.history[1].validation_loss);
  restore_random_state(checkpoint.state.random_state);
  options.epochs = 4;
  TrainCallbacks<float> resume;
  resume.load_best = [&](Model<float>& into) {
    Model<float> best = load_model<float>(best_path);
    restore_weights(into, copy_weights(best));
  };
  train(checkpoint.model, data, Dataset<float>{}, options, checkpoint.state, resume);

  ASSERT_EQ(checkpoint.state.history.size(), 4u);
  for (std::size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(checkpoint.state.history[e].validation_loss,
              straight_state.history[e].validation_loss)
        << "epoch " << e + 1;
    EXPECT_EQ(checkpoint.state.history[e].train_loss, straight_state.history[e].train_loss);
  }
  EXPECT_EQ(checkpoint.state.best_epoch, straight_state.best_epoch);
  const ModelWeights<float> a = copy_weights(straight);
  const ModelWeights<float> b = copy_weights(checkpoint.model);
  for (std::size_t i = 0; i < a.tensors.size(); ++i) EXPECT_EQ(a.tensors[i], b.tensors[i]);
}

TEST(ValidationSplit, ContinuingWithABestEpochBeforeTheResumeNeedsLoadBest) {
  const Dataset<float> data = iris();
  Model<float> model = iris_model(1);
  TrainingState state;
  state.epoch = 3;
  state.batch_size = 16;
  state.validation_fraction = 0.2;
  state.monitor = "loss";
  state.best_epoch = 2;
  state.best_metric = 0.5;
  state.history.resize(3);
  TrainOptions options = validation_options(5);
  expect_throw_with<std::invalid_argument>(
      [&] { train(model, data, Dataset<float>{}, options, state); },
      {"train", "load_best", "best epoch 2", "after epoch 3"});
  // Already stopped (3 - 2 >= patience 1): nothing trains, the best weights come back.
  options.early_stopping_patience = 1;
  bool loaded = false;
  TrainCallbacks<float> callbacks;
  callbacks.load_best = [&](Model<float>&) { loaded = true; };
  EXPECT_EQ(train(model, data, Dataset<float>{}, options, state, callbacks),
            TrainOutcome::kEarlyStopped);
  EXPECT_TRUE(loaded);
  EXPECT_EQ(state.epoch, 3u);
}

TEST(ValidationSplit, BadOptionsNameTheProblem) {
  const Dataset<float> data = iris();
  Model<float> model = iris_model(1);
  const auto fails_with = [&](const TrainOptions& options, std::initializer_list<std::string> parts,
                              TrainingState state = {}) {
    expect_throw_with<std::invalid_argument>(
        [&] { train(model, data, Dataset<float>{}, options, state); }, parts);
  };
  TrainOptions options = validation_options(1);
  for (const double fraction : {-0.1, 1.0, 1.5, kNaN}) {
    options.validation_fraction = fraction;
    fails_with(options, {"train", "validation fraction in (0, 1)"});
  }
  // 0.001 of 150 samples rounds to none for validation; 0.999 to none for training.
  options.validation_fraction = 0.001;
  fails_with(options, {"leaves samples for training and for validation", "0 for validation"});
  options.validation_fraction = 0.999;
  fails_with(options, {"leaves samples", "0 for training"});
  options.validation_fraction = 0.2;
  options.early_stopping_patience = 0;
  fails_with(options, {"patience of at least 1 epoch, got 0"});
  options.early_stopping_patience = 2;
  options.validation_fraction = 0.0;
  fails_with(options, {"expected a validation fraction for early stopping"});
  // A continued run keeps its split and its metric.
  TrainingState continued;
  continued.epoch = 1;
  continued.batch_size = 16;
  continued.validation_fraction = 0.2;
  continued.monitor = "loss";
  continued.history.resize(1);
  options.validation_fraction = 0.3;
  fails_with(options, {"validation fraction of the run being continued (0.2", "got 0.3"},
             continued);
  options.validation_fraction = 0.2;
  options.monitor = ValidationMetric::kAccuracy;
  fails_with(options, {"validation metric of the run being continued (loss), got accuracy"},
             continued);
}

}  // namespace
}  // namespace cnnkit
