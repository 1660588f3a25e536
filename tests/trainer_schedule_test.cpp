// The trainer sets the schedule's learning rate before every step: cosine with warm-up over
// T = epochs * ceil(N / batch) steps, read back from the optimizers after each batch.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {
namespace {

TEST(TrainerSchedule, EveryStepRunsAtTheSchedulesRate) {
  const Dataset<float> iris = load_iris<float>(std::string(CNNKIT_DATA_DIR) + "/iris.csv");
  ASSERT_EQ(iris.size(), 150u);
  ModelDescription description = preset("iris-mlp");
  description.schedule.type = "cosine";
  description.schedule.warmup_steps = 3;
  set_seed(1);
  Model<float> model = build_model<float>(description);
  // Batch 32: ceil(150 / 32) = 5 steps per epoch, T = 2 * 5 = 10; warm-up 1/3, 2/3, 1, then
  // (1 + cos(pi (t - 3) / 7)) / 2.
  std::vector<double> expected;
  for (int t = 0; t < 10; ++t) {
    expected.push_back(t < 3 ? (t + 1) / 3.0
                             : 0.5 * (1 + std::cos(std::numbers::pi * (t - 3) / 7.0)));
  }
  std::vector<float> seen;
  TrainCallbacks<float> callbacks;
  callbacks.on_batch = [&](const BatchProgress&) {
    for (const Parameter<float>* parameter : model.graph.parameters()) {
      EXPECT_EQ(parameter->optimizer->learning_rate_scale(),
                model.graph.parameters()[0]->optimizer->learning_rate_scale());
    }
    seen.push_back(model.graph.parameters()[0]->optimizer->learning_rate_scale());
  };
  TrainingState state;
  train(model, iris, Dataset<float>{}, TrainOptions{2, 32, 1000}, state, callbacks);
  EXPECT_EQ(state.step, 10u);
  ASSERT_EQ(seen.size(), expected.size());
  for (std::size_t t = 0; t < seen.size(); ++t) {
    EXPECT_EQ(seen[t], static_cast<float>(expected[t])) << "step " << t;
  }
  EXPECT_NEAR(seen[5], 0.811744900929367, 1e-7);  // (1 + cos(2 pi / 7)) / 2
}

}  // namespace
}  // namespace cnnkit
