// The layers of issue 25 in model descriptions: shape inference (2-D and 1-D), the summary's
// numbers and descriptions, JSON round trips, a model forward in both phases, and one
// message per bad value.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "cnnkit/random.hpp"
#include "model_description_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::BadCase;
using testing::expect_messages;
using testing::with_layers;

std::string validate_error(const ModelDescription& description) {
  try {
    validate(description);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

// Input (2, 9, 8): Conv 4 kernels 3x3 "same" -> (4, 9, 8); BatchNorm per channel; LeakyReLU;
// AveragePooling 2 -> (4, 4, 4); TanH; GlobalAveragePooling -> (4); BatchNorm per feature;
// Sigmoid; FullyConnected 3; SoftMax.
const char* const kTwoD = R"(
  {"type": "Conv", "kernels": 4, "kernel": 3}, {"type": "BatchNorm"},
  {"type": "LeakyReLU", "slope": 0.2}, {"type": "AveragePooling", "window": 2}, {"type": "TanH"},
  {"type": "GlobalAveragePooling"}, {"type": "BatchNorm", "momentum": 0.3, "epsilon": 0.001},
  {"type": "Sigmoid"}, {"type": "FullyConnected", "outputs": 3}, {"type": "SoftMax"})";

TEST(ModelDescriptionLayers, TwoDimensionalShapesSummaryAndRoundTrip) {
  const ModelDescription d = parse_model_description(with_layers(kTwoD, "[2, 9, 8]"));
  const std::vector<Shape> expected{{4, 9, 8}, {4, 9, 8}, {4, 9, 8}, {4, 4, 4}, {4, 4, 4},
                                    {4},       {4},       {4},       {3},       {3}};
  EXPECT_EQ(infer_shapes(d), expected);
  EXPECT_EQ(d.layers[1].momentum, 0.1);  // the defaults, PyTorch's
  EXPECT_EQ(d.layers[1].epsilon, 1e-5);
  EXPECT_EQ(d.layers[2].slope, 0.2);
  EXPECT_EQ(d.layers[3].stride, (Shape{2}));  // the stride defaults to the window
  EXPECT_EQ(d.layers[6].momentum, 0.3);
  EXPECT_EQ(d.layers[6].epsilon, 0.001);
  const ModelSummary s = summarize(d);
  EXPECT_EQ(s.rows[1].parameters, 8u);  // a scale and a shift per channel
  EXPECT_EQ(s.rows[6].parameters, 8u);
  EXPECT_EQ(s.rows[2].layer, "LeakyReLU slope 0.2");
  EXPECT_EQ(s.rows[3].layer, "AveragePooling 2, stride 2");
  EXPECT_EQ(s.rows[6].layer, "BatchNorm momentum 0.3, epsilon 0.001");
  EXPECT_EQ(s.rows[5].layer, "GlobalAveragePooling");
  // 4 * 2 * 9 + 4 (Conv) + 8 + 8 (BatchNorm) + 4 * 3 + 3 (FullyConnected).
  EXPECT_EQ(s.total_parameters, 76u + 16u + 15u);
  EXPECT_EQ(parse_model_description(to_json(d)), d);
}

TEST(ModelDescriptionLayers, OneDimensionalPooling) {
  // (2, 11): max pooling 3 stride 2 -> (2, 5), average pooling 2 -> (2, 2), global -> (2).
  const ModelDescription d = parse_model_description(with_layers(
      R"({"type": "Pooling", "window": 3, "stride": 2}, {"type": "AveragePooling", "window": [2]},
         {"type": "GlobalAveragePooling"}, {"type": "FullyConnected", "outputs": 2},
         {"type": "SoftMax"})",
      "[2, 11]"));
  const std::vector<Shape> expected{{2, 5}, {2, 2}, {2}, {2}, {2}};
  EXPECT_EQ(infer_shapes(d), expected);
  EXPECT_EQ(parse_model_description(to_json(d)), d);
}

TEST(ModelDescriptionLayers, ModelWithBatchNormForwardsInBothPhases) {
  set_seed(5);
  Model<float> model = build_model<float>(parse_model_description(with_layers(kTwoD, "[2, 9, 8]")));
  // initialize() left the batch norm at PyTorch's start, not at He / Constant(0.1).
  auto& norm = dynamic_cast<BatchNorm<float>&>(*model.graph.layers()[1]);
  EXPECT_EQ(norm.parameters()[0]->value, Tensor<float>({4}, 1.0f));
  EXPECT_EQ(norm.parameters()[1]->value, Tensor<float>({4}, 0.0f));
  Tensor<float> input({3, 2, 9, 8});
  for (std::size_t i = 0; i < input.size(); ++i) input[i] = std::sin(0.37f * float(i));
  // The engine's training-phase forward: batch statistics.
  const Tensor<float> output = model.graph.forward(Tensor<float>(input));
  ASSERT_EQ(output.shape(), (Shape{3, 3}));
  EXPECT_NE(norm.running_mean(), Tensor<float>({4}, 0.0f));  // moved towards the batch's means
  // Model::forward runs the testing phase: one sample uses the running statistics.
  const Tensor<float> one = model.forward(Tensor<float>({1, 2, 9, 8}, 0.5f));
  EXPECT_NEAR(one[0] + one[1] + one[2], 1.0f, 1e-6f);
}

TEST(ModelDescriptionLayers, EachBadValueHasItsMessage) {
  const std::string tail = R"(, {"type": "Flatten"}, {"type": "FullyConnected", "outputs": 2},
                              {"type": "SoftMax"})";
  const std::vector<BadCase> cases{
      {"slope not a number", with_layers(R"({"type": "LeakyReLU", "slope": "a"})" + tail, "[4]"),
       "net.json: layer 0 (LeakyReLU) slope: expected a finite number, got \"a\""},
      {"epsilon zero", with_layers(R"({"type": "BatchNorm", "epsilon": 0})" + tail, "[4]"),
       "net.json: layer 0 (BatchNorm): expected a finite epsilon above 0, got 0"},
      {"epsilon negative", with_layers(R"({"type": "BatchNorm", "epsilon": -1e-5})" + tail, "[4]"),
       "net.json: layer 0 (BatchNorm): expected a finite epsilon above 0, got -1e-05"},
      {"momentum above 1", with_layers(R"({"type": "BatchNorm", "momentum": 1.5})" + tail, "[4]"),
       "net.json: layer 0 (BatchNorm): expected momentum in [0, 1], got 1.5"},
      {"momentum negative",
       with_layers(R"({"type": "BatchNorm", "momentum": -0.1})" + tail, "[2, 3]"),
       "net.json: layer 0 (BatchNorm): expected momentum in [0, 1], got -0.1"},
      {"BatchNorm parameter of another layer",
       with_layers(R"({"type": "BatchNorm", "slope": 0.1})" + tail, "[4]"),
       "net.json: layer 0 (BatchNorm): unknown parameter 'slope' (known: type, name, inputs, "
       "momentum, epsilon)"},
      {"ReLU with a slope", with_layers(R"({"type": "ReLU", "slope": 0.1})" + tail, "[4]"),
       "net.json: layer 0 (ReLU): unknown parameter 'slope' (known: type, name, inputs)"},
      {"average window too big",
       with_layers(R"({"type": "AveragePooling", "window": 3})" + tail, "[1, 2, 2]"),
       "net.json: layer 0 (AveragePooling): input [1, 2, 2] does not fit: AveragePooling: "
       "expected input planes at least as large as the pooling shape [3, 3]"},
      {"1-D window too big", with_layers(R"({"type": "Pooling", "window": 5})" + tail, "[3, 4]"),
       "net.json: layer 0 (Pooling): input [3, 4] does not fit: Pooling: expected input planes "
       "at least as large as the pooling shape [5]"},
      {"two window sizes on 1-D input",
       with_layers(R"({"type": "AveragePooling", "window": [2, 2]})" + tail, "[3, 8]"),
       "net.json: layer 0 (AveragePooling): expected one window size and one stride for the 1-D "
       "input [3, 8], got window [2, 2] and stride [2, 2]"},
      {"average pooling on features",
       with_layers(R"({"type": "AveragePooling", "window": 2})" + tail, "[8]"),
       "net.json: layer 0 (AveragePooling): expected input (channels, length) or (channels, y, x), "
       "got [8]"},
      {"global pooling on features",
       with_layers(R"({"type": "GlobalAveragePooling"})" + tail, "[8]"),
       "net.json: layer 0 (GlobalAveragePooling): expected input (channels, spatial sizes...), "
       "got [8] (no spatial axes to average)"},
  };
  expect_messages(cases);
}

TEST(ModelDescriptionLayers, ValidateChecksValuesJsonCannotHold) {
  ModelDescription d = parse_model_description(with_layers(kTwoD, "[2, 9, 8]"));
  d.layers[2].slope = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(validate_error(d), "model 't': layer 2 (LeakyReLU): expected a finite slope, got nan");
  d.layers[2].slope = std::numeric_limits<double>::infinity();
  EXPECT_EQ(validate_error(d), "model 't': layer 2 (LeakyReLU): expected a finite slope, got inf");
  d.layers[2].slope = 0.2;
  d.layers[1].epsilon = std::numeric_limits<double>::infinity();
  EXPECT_EQ(validate_error(d),
            "model 't': layer 1 (BatchNorm): expected a finite epsilon above 0, got inf");
  d.layers[1].epsilon = 1e-5;
  d.layers[0].momentum = 0.5;  // a Conv with a momentum
  EXPECT_EQ(validate_error(d),
            "model 't': layer 0 (Conv): expected no momentum for this layer type, got one");
}

}  // namespace
}  // namespace cnnkit
