// JSON descriptions of graphs: layers with "name" and "inputs", Add and Concat, checked by the
// one shape inference every reader shares, built into the model's graph, trained, saved, loaded.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"
#include "model_description_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;

// A residual block on the digits: conv1 -> relu1 -> conv2, plus relu1 through the skip.
const std::string kResidual = R"({"name": "residual", "input_shape": [1, 8, 8],
  "layers": [{"type": "Conv", "name": "conv1", "kernels": 4, "kernel": 3},
             {"type": "ReLU", "name": "relu1"},
             {"type": "Conv", "name": "conv2", "kernels": 4, "kernel": 3},
             {"type": "Add", "name": "sum", "inputs": ["conv2", "relu1"]},
             {"type": "ReLU"}, {"type": "Flatten"},
             {"type": "FullyConnected", "outputs": 10}, {"type": "SoftMax"}],
  "optimizer": {"type": "Adam", "learning_rate": 5e-3, "mu": 0.98, "rho": 0.999}})";

// A description of these layers on input [2, 4, 4], ending in Flatten, FC 3, SoftMax.
std::string with_layers(const std::string& layers) {
  return testing::with_layers(layers + R"(, {"type": "Flatten"},
      {"type": "FullyConnected", "outputs": 3}, {"type": "SoftMax"})",
                              "[2, 4, 4]");
}

TEST(ModelDescriptionGraph, ResidualParsesAndInfersShapes) {
  const ModelDescription d = parse_model_description(kResidual, "res.json");
  ASSERT_EQ(d.layers.size(), 8u);
  EXPECT_EQ(d.layers[3].name, "sum");
  EXPECT_EQ(d.layers[3].inputs, (std::vector<std::string>{"conv2", "relu1"}));
  EXPECT_TRUE(d.layers[4].name.empty());
  EXPECT_TRUE(d.layers[4].inputs.empty());
  const std::vector<Shape> shapes = infer_shapes(d);
  const std::vector<Shape> expected{{4, 8, 8}, {4, 8, 8}, {4, 8, 8}, {4, 8, 8},
                                    {4, 8, 8}, {256},     {10},      {10}};
  EXPECT_EQ(shapes, expected);
  // Names and inputs round-trip, written only where the description gave them.
  const std::string json = to_json(d);
  EXPECT_EQ(parse_model_description(json, "again.json"), d);
  EXPECT_NE(json.find("\"inputs\""), std::string::npos);
  EXPECT_EQ(json.find("layer4"), std::string::npos);
}

TEST(ModelDescriptionGraph, ConcatAddsTheChannels) {
  const ModelDescription d = parse_model_description(
      with_layers(R"({"type": "Conv", "name": "a", "kernels": 3, "kernel": 1},
                     {"type": "Conv", "name": "b", "kernels": 5, "kernel": 3, "inputs": ["input"]},
                     {"type": "Concat", "inputs": ["a", "b", "input"]})"),
      "cat.json");
  EXPECT_EQ(infer_shapes(d)[2], (Shape{10, 4, 4}));
  EXPECT_EQ(infer_shapes(d)[3], (Shape{160}));
  // FullyConnected 160 -> 3: 483 parameters; convs 2*3+3 and 2*9*5+5.
  const ModelSummary summary = summarize(d);
  EXPECT_TRUE(summary.graph);
  EXPECT_EQ(summary.rows[2].inputs, (std::vector<std::string>{"a", "b", "input"}));
  EXPECT_EQ(summary.rows[3].inputs, (std::vector<std::string>{"layer2"}));
  EXPECT_EQ(summary.total_parameters, 9u + 95u + 483u);
  const std::string table = format_summary(summary);
  EXPECT_NE(table.find("Inputs"), std::string::npos) << table;
  EXPECT_NE(table.find("a, b, input"), std::string::npos) << table;
}

TEST(ModelDescriptionGraph, ResidualBuildsTrainsSavesAndLoads) {
  const ModelDescription d = parse_model_description(kResidual, "res.json");
  set_seed(5);
  Model<float> model = build_model<float>(d);
  ASSERT_EQ(model.graph.size(), 8u);
  EXPECT_EQ(model.graph.name(3), "sum");
  EXPECT_EQ(model.graph.inputs(3), (std::vector<std::string>{"conv2", "relu1"}));
  EXPECT_EQ(model.graph.inputs(4), (std::vector<std::string>{"sum"}));
  EXPECT_EQ(model.graph.inputs(0), (std::vector<std::string>{"input"}));

  const Dataset<float> digits = load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz");
  const auto [train_set, test_set] =
      shuffled_split(digits, kDigitsSplit.train_fraction, kDigitsSplit.split_seed);
  TrainingState state;
  set_seed(6);
  train(model, train_set, test_set, TrainOptions{3, 32, 1000}, state);
  ASSERT_EQ(state.history.size(), 3u);
  EXPECT_LT(state.history.back().train_loss, state.history.front().train_loss);
  EXPECT_GT(state.history.back().test_accuracy, 0.8);

  // The skip is wired: the model's output is the layers composed by hand, relu1 added to conv2.
  {
    Tensor<float> x({2, 1, 8, 8});
    for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(i % 7) * 0.25f;
    const auto& layers = model.graph.layers();
    const Tensor<float> relu1 = layers[1]->forward(layers[0]->forward(x));
    Tensor<float> sum = layers[2]->forward(relu1);
    for (std::size_t i = 0; i < sum.size(); ++i) sum.data()[i] += relu1.data()[i];
    Tensor<float> expected = sum;
    for (std::size_t l = 4; l < layers.size(); ++l) expected = layers[l]->forward(expected);
    const Tensor<float> actual = model.forward(x);
    ASSERT_EQ(actual.shape(), expected.shape());
    for (std::size_t i = 0; i < actual.size(); ++i) {
      ASSERT_EQ(actual.data()[i], expected.data()[i]) << i;
    }
  }

  const testing::TempDir dir;
  const std::string path = (dir.path() / "residual.safetensors").string();
  save_model(path, d, model.graph.layers());
  Model<float> loaded = load_model<float>(path);
  EXPECT_EQ(loaded.description, d);
  EXPECT_EQ(loaded.graph.inputs(3), (std::vector<std::string>{"conv2", "relu1"}));
  const Tensor<float> expected = model.forward(test_set.inputs);
  const Tensor<float> actual = loaded.forward(test_set.inputs);
  ASSERT_EQ(actual.shape(), expected.shape());
  for (std::size_t i = 0; i < actual.size(); ++i) ASSERT_EQ(actual.data()[i], expected.data()[i]);
}

// The chain presets (every one but fashion-resnet, a graph) write no names or inputs.
TEST(ModelDescriptionGraph, ExistingDescriptionRoundTripsUnchanged) {
  for (const std::string& name : preset_names()) {
    if (name == "fashion-resnet") continue;
    const ModelDescription d = preset(name);
    const std::string json = to_json(d);
    EXPECT_EQ(json.find("\"inputs\""), std::string::npos) << name;
    EXPECT_EQ(parse_model_description(json, name), d) << name;
    EXPECT_EQ(to_json(parse_model_description(json, name)), json) << name;
    EXPECT_FALSE(summarize(d).graph) << name;
    EXPECT_EQ(format_summary(summarize(d)).find("Inputs"), std::string::npos) << name;
  }
}

TEST(ModelDescriptionGraph, BadGraphsNameTheNode) {
  testing::expect_messages({
      {"unknown input", with_layers(R"({"type": "ReLU", "name": "r", "inputs": ["nope"]})"),
       "net.json: layer 0 'r' (ReLU): expected inputs named by nodes before it (or 'input'), got "
       "'nope' (no such node)"},
      {"duplicate name",
       with_layers(R"({"type": "ReLU", "name": "r"}, {"type": "TanH", "name": "r"})"),
       "net.json: layer 1 'r' (TanH): expected a unique node name, got 'r' twice"},
      {"name of the input", with_layers(R"({"type": "ReLU", "name": "input"})"),
       "net.json: layer 0 'input' (ReLU): expected a unique node name, got 'input' twice"},
      {"forward reference (a cycle)", with_layers(R"({"type": "ReLU", "name": "a", "inputs": ["b"]},
                      {"type": "ReLU", "name": "b", "inputs": ["a"]})"),
       "net.json: layer 0 'a' (ReLU): expected inputs named by nodes before it (or 'input'), got "
       "'b' (not before it: layers read only earlier nodes, so there is no cycle)"},
      {"reads itself", with_layers(R"({"type": "ReLU", "name": "a", "inputs": ["a"]})"),
       "net.json: layer 0 'a' (ReLU): expected inputs named by nodes before it (or 'input'), got "
       "'a' (not before it: layers read only earlier nodes, so there is no cycle)"},
      {"Add of different shapes",
       with_layers(R"({"type": "Conv", "name": "c", "kernels": 3, "kernel": 3},
                      {"type": "Add", "name": "sum", "inputs": ["c", "input"]})"),
       "net.json: layer 1 'sum' (Add): input [3, 4, 4], [2, 4, 4] does not fit: Add: expected "
       "inputs of one shape (input 0 is [1, 3, 4, 4]), got [1, 2, 4, 4] for input 1"},
      {"Concat differing outside the channels",
       with_layers(R"({"type": "Pooling", "name": "p", "window": 2},
                      {"type": "Concat", "name": "cat", "inputs": ["input", "p"]})"),
       "net.json: layer 1 'cat' (Concat): input [2, 4, 4], [2, 2, 2] does not fit: Concat: "
       "expected inputs that differ only in axis 1, the channels (input 0 is [1, 2, 4, 4]), got "
       "[1, 2, 2, 2] for input 1"},
      {"output nobody reads",
       with_layers(R"({"type": "ReLU", "name": "lost"}, {"type": "TanH", "inputs": ["input"]})"),
       "net.json: layer 0 'lost' (ReLU): expected its output to be read by a later layer (only "
       "the last layer is the output), got no reader"},
      {"two inputs to a ReLU", with_layers(R"({"type": "ReLU", "inputs": ["input", "input"]})"),
       "net.json: layer 0 (ReLU): expected one input for this layer type, got 2"},
      {"empty inputs", with_layers(R"({"type": "Add", "inputs": []})"),
       "net.json: layer 0 (Add) inputs: expected a non-empty array of node names, got []"},
      {"empty name", with_layers(R"({"type": "ReLU", "name": ""})"),
       "net.json: layer 0 (ReLU) name: expected a name (or no \"name\" key), got \"\""},
      {"input name not a string", with_layers(R"({"type": "Add", "inputs": ["input", 3]})"),
       "net.json: layer 0 (Add) inputs[1]: expected a string, got 3"},
  });
}

TEST(ModelDescriptionGraph, FanInAndLayerLimitsNameTheNode) {
  const std::string json =
      with_layers(R"({"type": "Add", "name": "sum", "inputs": ["input", "input", "input"]})");
  Limits limits;
  limits.fan_in = 2;
  EXPECT_EQ(message_of<std::invalid_argument>(
                [&] { (void)parse_model_description(json, "wide.json", limits); }),
            "wide.json: layer 0 (Add) inputs: expected at most 2 inputs (limit CNNKIT_MAX_FAN_IN: "
            "raise it with the environment variable CNNKIT_MAX_FAN_IN=<n>), got 3");
  // A description built in C++ meets the same limit where the shapes are inferred.
  ModelDescription d = parse_model_description(json, "wide.json", Limits{});
  EXPECT_EQ(infer_shapes(d, Limits{})[0], (Shape{2, 4, 4}));
  EXPECT_EQ(
      message_of<std::invalid_argument>([&] { validate(d, limits); }),
      "model 't': layer 0 'sum' (Add): expected at most 2 inputs (limit CNNKIT_MAX_FAN_IN: raise "
      "it with the environment variable CNNKIT_MAX_FAN_IN=<n>), got 3");
  limits = Limits{};
  limits.layers = 3;
  EXPECT_EQ(message_of<std::invalid_argument>(
                [&] { (void)parse_model_description(json, "long.json", limits); }),
            "long.json: layers: expected at most 3 layers (limit CNNKIT_MAX_LAYERS: raise it with "
            "the environment variable CNNKIT_MAX_LAYERS=<n>), got 4");
}

TEST(ModelDescriptionGraph, NeuralNetworkRefusesAGraph) {
  const ModelDescription d = parse_model_description(kResidual, "res.json");
  EXPECT_EQ(message_of<std::invalid_argument>([&] { (void)build_network<float>(d); }),
            "model 'residual': expected a chain of layers for a NeuralNetwork (each layer reading "
            "the one before), got a graph (build a Model instead)");
}

}  // namespace
}  // namespace cnnkit
