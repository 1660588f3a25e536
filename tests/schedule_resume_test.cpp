// A run with a cosine schedule (warm-up, AdamW with decoupled weight decay, gradient clipping)
// continued from a checkpoint goes on along the same curve: 2 epochs equal 1 epoch, save, load,
// resume to 2, bit for bit, because the checkpoint holds the schedule's position (the step count).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

constexpr std::size_t kBatch = 50;
constexpr std::size_t kBatchesPerEpoch = 24;  // ceil(1198 / 50): the digits training split

std::pair<Dataset<float>, Dataset<float>> digits() {
  return shuffled_split(load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz"),
                        2.0 / 3.0, 0);
}

// W2's network with every update-phase setting on.
ModelDescription scheduled(std::size_t total_steps) {
  ModelDescription description = preset("digits-cnn");
  description.optimizer = OptimizerSpec{};
  description.optimizer.type = "AdamW";
  description.optimizer.learning_rate = 1e-2;
  description.optimizer.weight_decay = 1e-2;
  description.optimizer.decay_bias_and_norm = false;
  description.schedule.type = "cosine";
  description.schedule.warmup_steps = 5;
  description.schedule.total_steps = total_steps;
  description.clip_norm = 1.0;
  return description;
}

// Every parameter and optimizer state of both models, bit for bit.
void expect_same_bits(const Model<float>& a, const Model<float>& b) {
  ASSERT_EQ(a.graph.parameters().size(), b.graph.parameters().size());
  for (std::size_t i = 0; i < a.graph.parameters().size(); ++i) {
    const Parameter<float>& pa = *a.graph.parameters()[i];
    const Parameter<float>& pb = *b.graph.parameters()[i];
    ASSERT_EQ(pa.value.shape(), pb.value.shape());
    EXPECT_EQ(std::memcmp(pa.value.data(), pb.value.data(), pa.value.size() * sizeof(float)), 0)
        << "parameter " << i << " (" << pa.name << ")";
    EXPECT_EQ(pa.optimizer->state(), pb.optimizer->state()) << "parameter " << i;
  }
}

class ScheduleResume : public ::testing::Test {
 protected:
  void SetUp() override { set_num_threads(1); }
  void TearDown() override { set_num_threads(0); }

  // Trains epochs 1..first_epochs of a new run (seed 3) with a checkpoint after each epoch;
  // stop_after_epoch ends it early as an interrupt would.
  void train_first_part(const ModelDescription& description, std::size_t epochs,
                        std::size_t stop_after_epoch) {
    set_seed(3);
    Model<float> model = build_model<float>(description);
    TrainingState state;
    TrainCallbacks<float> callbacks;
    callbacks.on_epoch = [&](const Model<float>& m, const TrainingState& s, const Evaluation&) {
      save_checkpoint(checkpoint_path(), m, s);
    };
    callbacks.stop_requested = [&] { return state.epoch >= stop_after_epoch; };
    train(model, train_set_, test_set_, TrainOptions{epochs, kBatch, 1000}, state, callbacks);
  }

  Model<float> straight_run(const ModelDescription& description, std::size_t epochs) {
    set_seed(3);
    Model<float> model = build_model<float>(description);
    TrainingState state;
    train(model, train_set_, test_set_, TrainOptions{epochs, kBatch, 1000}, state);
    EXPECT_EQ(state.step, epochs * kBatchesPerEpoch);
    return model;
  }

  Checkpoint<float> resumed_run(std::size_t epochs) {
    set_seed(11);  // anything in between must not matter
    Checkpoint<float> checkpoint = load_checkpoint<float>(checkpoint_path());
    EXPECT_EQ(checkpoint.state.epoch, 1u);
    EXPECT_EQ(checkpoint.state.step, kBatchesPerEpoch);
    restore_random_state(checkpoint.state.random_state);
    train(checkpoint.model, train_set_, test_set_, TrainOptions{epochs, kBatch, 1000},
          checkpoint.state);
    EXPECT_EQ(checkpoint.state.step, epochs * kBatchesPerEpoch);
    return checkpoint;
  }

  std::string checkpoint_path() const { return (dir_.path() / "checkpoint.safetensors").string(); }

  testing::TempDir dir_;
  std::pair<Dataset<float>, Dataset<float>> data_ = digits();
  const Dataset<float>& train_set_ = data_.first;
  const Dataset<float>& test_set_ = data_.second;
};

// `cnnkit train --epochs 1`, then `--resume --epochs 2`: the schedule's length fixed in the
// description (total_steps), so the first run already follows the two-epoch curve.
TEST_F(ScheduleResume, OneEpochThenResumeToTwoEqualsTwoEpochs) {
  const ModelDescription description = scheduled(2 * kBatchesPerEpoch);
  const Model<float> straight = straight_run(description, 2);
  train_first_part(description, 1, 1);
  const Checkpoint<float> resumed = resumed_run(2);
  expect_same_bits(straight, resumed.model);
  EXPECT_EQ(straight.graph.parameters().size(), 6u);
}

// A two-epoch run interrupted after its first epoch: T = epochs * ceil(N / batch) by default.
TEST_F(ScheduleResume, InterruptedTwoEpochRunResumesAlongTheSameCurve) {
  const ModelDescription description = scheduled(0);
  const Model<float> straight = straight_run(description, 2);
  train_first_part(description, 2, 1);
  const Checkpoint<float> resumed = resumed_run(2);
  expect_same_bits(straight, resumed.model);
}

}  // namespace
}  // namespace cnnkit
