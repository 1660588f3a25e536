// Dropout: the kept fraction (binomial bounds, fixed seed), the scale 1 / (1 - p), backward with
// the forward's mask, the same masks on 1 and 2 threads and for any split of the global batch,
// the testing phase's identity, a gradient check with a fixed mask, the engine's step context,
// JSON, summaries, model files and bad p.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layers/dropout.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/neural_network.hpp"
#include "cnnkit/threading.hpp"
#include "layer_test_helpers.hpp"
#include "model_description_test_helpers.hpp"
#include "temp_dir.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

using testing::random_tensor;

Tensor<float> random_float(const Shape& shape, unsigned seed) {
  const Tensor<double> values = random_tensor(shape, -2.0, 2.0, seed);
  Tensor<float> result(shape);
  for (std::size_t i = 0; i < values.size(); ++i) result[i] = static_cast<float>(values[i]);
  return result;
}

TEST(Dropout, KeepsOneMinusPOfTheElements) {
  for (const double p : {0.1, 0.5, 0.8}) {
    Dropout<float> dropout(p);
    dropout.set_step_context({.seed = 11, .step = 3});
    const Tensor<float> output = dropout.forward(Tensor<float>({64, 1000}, 1.0f));
    std::size_t kept = 0;
    for (const float value : output) kept += value != 0.0f ? 1 : 0;
    // Binomial(N, 1 - p): mean N (1 - p), standard deviation sqrt(N p (1 - p)).
    const double n = static_cast<double>(output.size());
    EXPECT_NEAR(static_cast<double>(kept), n * (1.0 - p), 5.0 * std::sqrt(n * p * (1.0 - p)))
        << "p " << p;
  }
}

TEST(Dropout, ScalesTheKeptElementsByOneOverOneMinusP) {
  Dropout<float> dropout(0.3);
  const Tensor<float> input = random_float({8, 50}, 1);
  const Tensor<float> output = dropout.forward(input);
  const float scale = static_cast<float>(1.0 / 0.7);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < input.size(); ++i) {
    ASSERT_TRUE(dropout.mask()[i] == 0.0f || dropout.mask()[i] == scale) << i;
    ASSERT_EQ(output[i], dropout.mask()[i] * input[i]) << i;
    kept += dropout.mask()[i] != 0.0f ? 1 : 0;
  }
  EXPECT_GT(kept, 0u);
  EXPECT_LT(kept, input.size());
  // p = 0 keeps everything unscaled.
  Dropout<float> none(0.0);
  testing::expect_bitwise_equal(none.forward(input), input);
}

TEST(Dropout, BackwardUsesTheForwardMask) {
  Dropout<double> dropout(0.5);
  dropout.set_step_context({.seed = 5, .step = 9, .first_sample = 0, .stream = 2});
  const Tensor<double> input = random_tensor({6, 7}, 0.5, 1.5, 2);  // no zeros of its own
  const Tensor<double> output = dropout.forward(input);
  const Tensor<double> error = random_tensor({6, 7}, 0.5, 1.5, 3);
  const Tensor<double> input_error = dropout.backward(error);
  for (std::size_t i = 0; i < input.size(); ++i) {
    // Dropped in forward <=> no error flows back; kept: error times 2.
    ASSERT_EQ(output[i] == 0.0, input_error[i] == 0.0) << i;
    ASSERT_EQ(input_error[i], output[i] == 0.0 ? 0.0 : 2.0 * error[i]) << i;
  }
  // The handed-over forms (what the engine calls) give the same.
  dropout.set_step_context({.seed = 5, .step = 9, .first_sample = 0, .stream = 2});
  testing::expect_bitwise_equal(dropout.forward(Tensor<double>(input)), output);
  testing::expect_bitwise_equal(dropout.backward(Tensor<double>(error)), input_error);
}

TEST(Dropout, SameMasksOnOneAndTwoThreads) {
  const testing::ThreadCountGuard restore;
  // Large enough (2^17 elements) for the samples to be shared among a team.
  const Tensor<float> input = random_float({32, 4096}, 4);
  const auto masks = [&](std::size_t threads) {
    set_num_threads(threads);
    Dropout<float> dropout(0.4);
    dropout.set_step_context({.seed = 21, .step = 100});
    return dropout.forward(input);
  };
  testing::expect_bitwise_equal(masks(2), masks(1));
}

TEST(Dropout, SampleMaskDependsOnItsGlobalIndexNotOnTheBatchSplit) {
  const Tensor<float> input = random_float({8, 30}, 5);
  Dropout<float> whole(0.5);
  whole.set_step_context({.seed = 3, .step = 7, .first_sample = 0, .stream = 1});
  const Tensor<float> all = whole.forward(input);

  // The second half of the batch alone, as a process computing samples 4..7 would.
  Tensor<float> half({4, 30});
  std::copy(input.begin() + 4 * 30, input.end(), half.begin());
  Dropout<float> part(0.5);
  part.set_step_context({.seed = 3, .step = 7, .first_sample = 4, .stream = 1});
  const Tensor<float> second = part.forward(half);
  for (std::size_t i = 0; i < half.size(); ++i) ASSERT_EQ(second[i], all[4 * 30 + i]) << i;

  // Another step, stream or seed draws another mask.
  for (const StepContext other :
       {StepContext{3, 8, 0, 1}, StepContext{3, 7, 0, 2}, StepContext{4, 7, 0, 1}}) {
    Dropout<float> dropout(0.5);
    dropout.set_step_context(other);
    EXPECT_NE(dropout.forward(input), all);
  }
}

TEST(Dropout, TestingPhaseIsTheIdentity) {
  Dropout<float> dropout(0.7);
  dropout.set_testing_phase(true);
  const Tensor<float> input = random_float({5, 3, 4}, 6);
  testing::expect_bitwise_equal(dropout.forward(input), input);
  testing::expect_bitwise_equal(dropout.forward(Tensor<float>(input)), input);
}

TEST(Dropout, GradientCheckWithAFixedMask) {
  // The mask is a function of the step context, so each of the gradient check's forward passes
  // draws the same one.
  FullyConnected<double> fully_connected(5, 4);
  fully_connected.set_weights(random_tensor({6, 4}, -1.0, 1.0, 7));
  Dropout<double> dropout(0.4);
  dropout.set_step_context({.seed = 1, .step = 2, .first_sample = 0, .stream = 3});
  L2Loss<double> loss;
  const Tensor<double> input = random_tensor({3, 5}, -1.0, 1.0, 8);
  const Tensor<double> label = random_tensor({3, 4}, -1.0, 1.0, 9);
  const GradientCheckResult result =
      gradient_check<double>({&fully_connected, &dropout}, loss, input, label);
  EXPECT_LT(result.worst(), 1e-6);
  EXPECT_FALSE(result.entries.empty());
}

TEST(Dropout, RejectsPOutsideZeroToOne) {
  for (const double p : {-0.1, 1.0, 1.5, std::nan("")}) {
    try {
      Dropout<float> dropout(p);
      ADD_FAILURE() << "accepted p " << p;
    } catch (const std::invalid_argument& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("Dropout: expected a drop probability p in [0, 1), got p"),
                std::string::npos)
          << message;
    }
  }
}

// The engine hands each layer the step with its node index as the stream, and NeuralNetwork
// advances the step with every forward().
TEST(Dropout, NeuralNetworkAdvancesTheStepAndTheGraphGivesStreams) {
  class FixedBatch : public DataLayer<float> {
   public:
    Batch<float> next() override { return {Tensor<float>({2, 3}, 1.0f), Tensor<float>({2, 3})}; }
  };
  NeuralNetwork<float> network(Sgd<float>(0.1f), Constant<float>(0.1f), Constant<float>(0.0f));
  auto first = std::make_unique<Dropout<float>>(0.5);
  auto second = std::make_unique<Dropout<float>>(0.5);
  const Dropout<float>& a = *first;
  const Dropout<float>& b = *second;
  network.append_layer(std::move(first));
  network.append_layer(std::move(second));
  network.set_data_layer(std::make_unique<FixedBatch>());
  network.set_loss_layer(std::make_unique<L2Loss<float>>());
  network.set_seed(77);
  network.train(3);
  EXPECT_EQ(network.step(), 3u);
  EXPECT_EQ(a.step_context().seed, 77u);
  EXPECT_EQ(a.step_context().step, 2u);  // the third step
  EXPECT_EQ(a.step_context().stream, 0u);
  EXPECT_EQ(b.step_context().stream, 1u);
}

// The trainer counts steps over the whole run (epoch 2 goes on where epoch 1 ended) and hands
// the graph the run's seed.
TEST(Dropout, TrainerCountsStepsOverTheWholeRun) {
  const ModelDescription description = parse_model_description(testing::with_layers(
      R"({"type": "Dropout", "p": 0.2}, {"type": "FullyConnected", "outputs": 2},
         {"type": "SoftMax"})",
      "[3]"));
  Model<float> model = build_model<float>(description);
  Dataset<float> data{Tensor<float>({10, 3}, 0.5f), {0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, {"a", "b"}};
  TrainingState state;
  state.seed = 12;
  train(model, data, Dataset<float>{}, TrainOptions{2, 4, 1000}, state);
  const auto& dropout = dynamic_cast<const Dropout<float>&>(model.graph.layer(0));
  EXPECT_EQ(dropout.step_context().step, 5u);  // 3 batches per epoch: steps 0..5
  EXPECT_EQ(dropout.step_context().seed, 12u);
}

TEST(Dropout, InModelDescriptionsSummariesAndModelFiles) {
  const std::string json = testing::with_layers(
      R"({"type": "Flatten"}, {"type": "Dropout", "p": 0.25}, {"type": "FullyConnected",
          "outputs": 3}, {"type": "Dropout"}, {"type": "SoftMax"})",
      "[1, 2, 3]");
  const ModelDescription description = parse_model_description(json);
  EXPECT_EQ(description.layers[1].p, 0.25);
  EXPECT_EQ(description.layers[3].p, 0.5);  // PyTorch's default
  EXPECT_EQ(parse_model_description(to_json(description)), description);
  EXPECT_EQ(infer_shapes(description), (std::vector<Shape>{{6}, {6}, {3}, {3}, {3}}));
  EXPECT_EQ(summarize(description).rows[1].layer, "Dropout p 0.25");

  const testing::TempDir dir;
  Model<float> model = build_model<float>(description);
  save_model(dir / "m.safetensors", description, model.graph.layers());
  const Model<float> loaded = load_model<float>(dir / "m.safetensors");
  const auto& dropout = dynamic_cast<const Dropout<float>&>(loaded.graph.layer(1));
  EXPECT_EQ(dropout.probability(), 0.25);
}

TEST(Dropout, BadPInADescriptionNamesTheLayer) {
  testing::expect_messages({
      {"p = 1", testing::with_layers(R"({"type": "Flatten"}, {"type": "Dropout", "p": 1})"),
       "layer 1 (Dropout): expected p in [0, 1), got 1"},
      {"p < 0", testing::with_layers(R"({"type": "Flatten"}, {"type": "Dropout", "p": -0.5})"),
       "layer 1 (Dropout): expected p in [0, 1), got -0.5"},
      {"p on another layer", testing::with_layers(R"({"type": "Flatten", "p": 0.5})"),
       "unknown parameter 'p'"},
  });
}

}  // namespace
}  // namespace cnnkit
