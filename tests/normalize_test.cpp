// Normalize, the input normalisation kept in a model: hand-computed values, a gradient check in
// double, the bad values; add_input_normalization on a chain and on a residual graph, where the
// normalised model must compute what the plain model computes on normalised data; descriptions
// and model files keep the values. The layer contract: check_layer_test.cpp.
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/layers/normalize.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/model/input_normalization.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;
using testing::random_tensor;

TEST(Normalize, HandValuesPerChannel) {
  // Channel 0: (x - 1) / 2; channel 1: (x - 2) / 0.5.
  Normalize<double> normalize({1.0, 2.0}, {2.0, 0.5});
  const Tensor<double> input({2, 2, 1, 2}, std::vector<double>{1, 2, 3, 4, -1, 0, 2, 2.5});
  expect_tensor_near(
      normalize.forward(input),
      Tensor<double>({2, 2, 1, 2}, std::vector<double>{0, 0.5, 2, 4, -1, -0.5, 0, 1}), 1e-15);
  // E / std: 1/2 for channel 0, 2 for channel 1.
  const Tensor<double> error({2, 2, 1, 2}, std::vector<double>{1, -2, 1, -2, 4, 0, 3, 1});
  expect_tensor_near(normalize.backward(error),
                     Tensor<double>({2, 2, 1, 2}, std::vector<double>{0.5, -1, 2, -4, 2, 0, 6, 2}),
                     1e-15);
}

TEST(Normalize, OneMeanForEveryFeatureAndAStdPerFeature) {
  // (N, F) = (2, 3): mean 1 for all, std 1, 2, 4 per feature.
  Normalize<float> normalize({1.0}, {1.0, 2.0, 4.0});
  const Tensor<float> output =
      normalize.forward(Tensor<float>({2, 3}, std::vector<float>{2, 3, 5, 0, 1, -3}));
  expect_tensor_near(output, Tensor<float>({2, 3}, std::vector<float>{1, 1, 1, -1, 0, -1}), 0.0);
}

TEST(Normalize, GradientCheckIn1DAnd2D) {
  L2Loss<double> loss;
  for (const Shape& shape : {Shape{3, 2, 5}, Shape{2, 3, 4, 3}}) {
    const std::size_t channels = shape[1];
    std::vector<double> mean, std;
    for (std::size_t c = 0; c < channels; ++c) {
      mean.push_back(0.3 * static_cast<double>(c) - 0.2);
      std.push_back(0.5 + static_cast<double>(c));
    }
    Normalize<double> normalize(mean, std);
    const Tensor<double> input = random_tensor(shape, -2, 2, 7);
    const double worst =
        gradient_check<double>({&normalize}, loss, input, random_tensor(shape, -1, 1, 8)).worst();
    EXPECT_LT(worst, 1e-7) << to_string(shape);
  }
}

TEST(Normalize, BadValuesAndInputsNameTheLayer) {
  expect_throw_with<std::invalid_argument>(
      [] { Normalize<float>({0.5}, {0.0}); },
      {"Normalize", "finite standard deviations above 0", "std [0]"});
  expect_throw_with<std::invalid_argument>([] { Normalize<float>({std::nan("")}, {1.0}); },
                                           {"Normalize", "finite means", "mean [nan]"});
  expect_throw_with<std::invalid_argument>(
      [] { Normalize<float>({}, {1.0}); },
      {"Normalize", "at least one mean and one standard deviation", "0 means"});
  Normalize<float> three({0.1, 0.2, 0.3}, {1.0});
  expect_throw_with<std::invalid_argument>(
      [&] {
        three.forward(Tensor<float>({2, 2, 4, 4}));
      },
      {"Normalize", "one per channel (2)", "3 means and 1 stds", "[2, 2, 4, 4]"});
  expect_throw_with<std::invalid_argument>([&] { three.forward(Tensor<float>({6})); },
                                           {"Normalize", "rank 2 or more"});
  // The testing phase keeps nothing for a backward pass.
  three.set_testing_phase(true);
  three.forward(Tensor<float>({2, 3, 2}));
  EXPECT_THROW(three.backward(Tensor<float>({2, 3, 2})), std::logic_error);
}

ModelDescription small_chain() {
  return parse_model_description(R"({"name": "chain", "input_shape": [2, 6, 6],
    "layers": [{"type": "Conv", "kernels": 3, "kernel": 3}, {"type": "ReLU"},
               {"type": "Flatten"}, {"type": "FullyConnected", "outputs": 4},
               {"type": "SoftMax"}]})",
                                 "chain.json");
}

// A residual block whose skip reads the model's input by name: the graph case of the rewiring.
ModelDescription small_graph() {
  return parse_model_description(R"({"name": "graph", "input_shape": [2, 6, 6],
    "layers": [{"type": "Conv", "kernels": 2, "kernel": 3},
               {"type": "ReLU"},
               {"type": "Add", "name": "sum", "inputs": ["layer1", "input"]},
               {"type": "GlobalAveragePooling"},
               {"type": "FullyConnected", "outputs": 4},
               {"type": "SoftMax"}]})",
                                 "graph.json");
}

// (x - mean[c]) / std[c] for a (N, 2, H, W) batch, by hand.
Tensor<float> normalized(const Tensor<float>& x, const std::vector<double>& mean,
                         const std::vector<double>& std) {
  Tensor<float> y = x;
  const std::size_t plane = x.size() / (x.dim(0) * x.dim(1));
  for (std::size_t i = 0; i < y.size(); ++i) {
    const std::size_t c = (i / plane) % x.dim(1);
    y[i] = (x[i] - static_cast<float>(mean[c])) * static_cast<float>(1.0 / std[c]);
  }
  return y;
}

// The normalised model on raw data computes what the plain model computes on normalised data:
// the same weights (Normalize draws none, so the same seed initialises both alike), the same
// output bits.
void expect_normalization_in_front(const ModelDescription& plain) {
  const std::vector<double> mean{0.25, -0.5}, std{2.0, 0.5};
  ModelDescription with = plain;
  add_input_normalization(with, mean, std);
  ASSERT_EQ(with.layers.size(), plain.layers.size() + 1);
  EXPECT_EQ(with.layers.front().type, "Normalize");
  EXPECT_EQ(with.layers.front().name, kInputNormalizationName);
  set_seed(11);
  Model<float> a = build_model<float>(plain);
  set_seed(11);
  Model<float> b = build_model<float>(with);
  const Tensor<double> drawn = random_tensor({3, 2, 6, 6}, -1, 1, 5);
  Tensor<float> x(drawn.shape());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(drawn[i]);
  expect_tensor_near(b.forward(x), a.forward(normalized(x, mean, std)), 0.0);

  // Added again with the same values: unchanged (a resumed run); other values: an error.
  ModelDescription again = with;
  add_input_normalization(again, mean, std);
  EXPECT_EQ(again, with);
  expect_throw_with<std::invalid_argument>(
      [&] { add_input_normalization(again, {0.0}, {1.0}); },
      {"add_input_normalization", "another first node 'normalize'"});
}

TEST(InputNormalization, InFrontOfAChain) {
  const ModelDescription chain = small_chain();
  expect_normalization_in_front(chain);
  ModelDescription with = chain;
  add_input_normalization(with, {0.0}, {1.0});
  // A chain stays a chain: no names or inputs written into it.
  for (std::size_t i = 1; i < with.layers.size(); ++i) {
    EXPECT_TRUE(with.layers[i].name.empty() && with.layers[i].inputs.empty()) << i;
  }
}

TEST(InputNormalization, InFrontOfAGraphWhoseSkipReadsTheInput) {
  const ModelDescription graph = small_graph();
  expect_normalization_in_front(graph);
  ModelDescription with = graph;
  add_input_normalization(with, {0.0}, {1.0});
  // The skip reads the normalised input; the nodes named by default keep their names.
  EXPECT_EQ(with.layers[3].name, "sum");
  EXPECT_EQ(with.layers[3].inputs, (std::vector<std::string>{"layer1", "normalize"}));
  EXPECT_EQ(with.layers[1].name, "layer0");
  EXPECT_EQ(with.layers[1].inputs, (std::vector<std::string>{"normalize"}));
  EXPECT_EQ(with.layers[2].name, "layer1");
}

TEST(InputNormalization, ANodeOfThatNameIsAnError) {
  ModelDescription taken = small_graph();
  taken.layers[1].name = "normalize";
  taken.layers[2].inputs = {"normalize", "input"};
  expect_throw_with<std::invalid_argument>(
      [&] { add_input_normalization(taken, {0.0}, {1.0}); },
      {"add_input_normalization", "no node named 'normalize'", "layer 1"});
}

TEST(InputNormalization, DescriptionsAndModelFilesKeepTheValues) {
  ModelDescription with = small_chain();
  add_input_normalization(with, {0.125, -3.5}, {0.75});
  EXPECT_EQ(parse_model_description(to_json(with), "round.json"), with);
  set_seed(3);
  Model<float> model = build_model<float>(with);
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "cnnkit_normalize_model.safetensors";
  save_model(path.string(), with, model.graph.layers());
  const Model<float> loaded = load_model<float>(path.string());
  std::filesystem::remove(path);
  EXPECT_EQ(loaded.description, with);
  const auto* normalize = dynamic_cast<const Normalize<float>*>(&loaded.graph.layer(0));
  ASSERT_NE(normalize, nullptr);
  EXPECT_EQ(normalize->mean(), (std::vector<double>{0.125, -3.5}));
  EXPECT_EQ(normalize->standard_deviation(), (std::vector<double>{0.75}));
}

TEST(InputNormalization, BadDescriptionsNameTheLayerAndValue) {
  const auto error = [](const std::string& layer) {
    try {
      parse_model_description(
          R"({"name": "n", "input_shape": [2, 4, 4], "layers": [)" + layer +
              R"(, {"type": "Flatten"}, {"type": "FullyConnected", "outputs": 2}]})",
          "n.json");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error(R"({"type": "Normalize", "mean": 0})"),
            "n.json: layer 0 (Normalize): expected a key \"std\", got none");
  EXPECT_NE(error(R"({"type": "Normalize", "mean": [], "std": 1})").find("mean: expected a number"),
            std::string::npos);
  EXPECT_NE(
      error(R"({"type": "Normalize", "mean": 0, "std": 0})").find("expected stds above 0, got 0"),
      std::string::npos);
  EXPECT_NE(error(R"({"type": "Normalize", "mean": [0, 1, 2], "std": 1})")
                .find("expected input whose channels match 3 means and 1 stds"),
            std::string::npos);
}

}  // namespace
}  // namespace cnnkit
