// Conv's padding, dilation and groups: worked values, bad arguments (each message names Conv and
// both values), the JSON keys (strict, round trip, old descriptions unchanged), shape inference,
// the summary and model files. PyTorch's values: oracle_layers_test (ConvOptions); gradient
// checks: conv_backward_test; kernels against the reference: conv_options_kernels_test.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "cnnkit/layers/conv.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"
#include "model_description_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::expect_throw_with;

TEST(ConvOptions, DilatedValidStridedOneDimensionalByHand) {
  // x = [1 .. 7], w = [1 2 3], dilation 2, no padding, stride 2: the kernel spans 5, so
  // out[i] = x[2i] + 2 x[2i+2] + 3 x[2i+4] for i = 0, 1: 1 + 6 + 15 = 22, 3 + 10 + 21 = 34.
  Conv<double> layer({2}, {1, 3}, 1, {ConvPadding::valid(), {2}});
  layer.set_weights(Tensor<double>({1, 1, 3}, {1, 2, 3}));
  layer.set_bias(Tensor<double>({1}, {0.5}));
  const Tensor<double> out = layer.forward(Tensor<double>({1, 1, 7}, {1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(out.shape(), (Shape{1, 1, 2}));
  EXPECT_EQ(out, Tensor<double>({1, 1, 2}, {22.5, 34.5}));
  // E = [1 -1]: x[0,2,4] get 1 2 3, x[2,4,6] get -1 -2 -3: [1 0 1 0 1 0 -3]; x[1], x[3], x[5]
  // are never read. dW[u] = x[2u] - x[2u+2] = [-2 -2 -2]; db = 0.
  const Tensor<double> input_error = layer.backward(Tensor<double>({1, 1, 2}, {1, -1}));
  EXPECT_EQ(input_error, Tensor<double>({1, 1, 7}, {1, 0, 1, 0, 1, 0, -3}));
  EXPECT_EQ(layer.gradient_weights(), Tensor<double>({1, 1, 3}, {-2, -2, -2}));
  EXPECT_EQ(layer.gradient_bias(), Tensor<double>({1}, {0}));
}

TEST(ConvOptions, DepthwiseKeepsEachChannelToItsOwnKernel) {
  // Two channels, groups 2, 1x2 kernels [1 1] and [1 -1], explicit padding [0, [0, 1]]:
  // channel 0 [1 2 3] -> sums of neighbours [3 5 3]; channel 1 [4 6 9] -> differences [-2 -3 9].
  Conv<float> layer({1}, {2, 1, 2}, 2, {ConvPadding::explicit_sizes({{0, 0}, {0, 1}}), {1}, 2});
  EXPECT_EQ(layer.weights().shape(), (Shape{2, 1, 1, 2}));
  layer.set_weights(Tensor<float>({2, 1, 1, 2}, {1, 1, 1, -1}));
  layer.set_bias(Tensor<float>({2}, {0, 0}));
  const Tensor<float> out = layer.forward(Tensor<float>({1, 2, 1, 3}, {1, 2, 3, 4, 6, 9}));
  EXPECT_EQ(out, Tensor<float>({1, 2, 1, 3}, {3, 5, 3, -2, -3, 9}));
}

TEST(ConvOptions, OutputShapesFollowPyTorch) {
  // floor((L + pads - d (k-1) - 1) / s) + 1 per axis; "same" stays ceil(L / s).
  EXPECT_EQ(Conv<float>({1}, {3, 3, 3}, 4, {ConvPadding::valid()}).output_shape({2, 3, 9, 8}),
            (Shape{2, 4, 7, 6}));
  EXPECT_EQ(Conv<float>({2, 3}, {2, 3, 2}, 3, {ConvPadding::explicit_sizes({{1, 2}, {0, 1}})})
                .output_shape({2, 2, 7, 9}),
            (Shape{2, 3, 4, 3}));
  EXPECT_EQ(
      Conv<float>({2}, {2, 3, 3}, 3, {ConvPadding::same(), {3, 2}}).output_shape({2, 2, 13, 12}),
      (Shape{2, 3, 7, 6}));
  EXPECT_EQ(Conv<float>({1}, {2, 4}, 2, {ConvPadding::explicit_sizes({{2, 1}}), {3}})
                .output_shape({3, 2, 14}),
            (Shape{3, 2, 8}));
}

TEST(ConvOptions, FansCountTheGroupsChannels) {
  // fan_in = (c / groups) m n, fan_out = K m n, as PyTorch's initializers count them.
  struct Fans : Initializer<double> {
    std::size_t fan_in = 0, fan_out = 0;
    Tensor<double> initialize(const Shape& shape, std::size_t in, std::size_t out) override {
      fan_in = in, fan_out = out;
      return Tensor<double>(shape);
    }
    std::unique_ptr<Initializer<double>> clone() const override {
      return std::make_unique<Fans>(*this);
    }
  } weights, bias;
  Conv<double> layer({1}, {6, 3, 2}, 4, {ConvPadding::same(), {1}, 2});
  layer.initialize(weights, bias);
  EXPECT_EQ(weights.fan_in, 18u);
  EXPECT_EQ(weights.fan_out, 24u);
  EXPECT_EQ(layer.weights().shape(), (Shape{4, 3, 3, 2}));
}

TEST(ConvOptionsErrors, GroupsThatDoNotDivide) {
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {6, 3, 3}, 8, {ConvPadding::same(), {1}, 4});
      },
      {"Conv", "6 input channels", "groups 4"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {6, 3, 3}, 8, {ConvPadding::same(), {1}, 3});
      },
      {"Conv", "8 kernels", "groups 3"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<double>({1}, {6, 3}, 6, {ConvPadding::same(), {1}, 0});
      },
      {"Conv", "at least one group", "groups 0"});
}

TEST(ConvOptionsErrors, DilationZeroOrOfWrongRank) {
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {2, 3, 3}, 2, {ConvPadding::same(), {1, 0}});
      },
      {"Conv", "dilations of at least 1", "dilation [1, 0]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {2, 3}, 2, {ConvPadding::same(), {2, 2}});
      },
      {"Conv", "dilation of 1 value for a 1-D convolution", "dilation [2, 2]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {2, 3, 3}, 2, {ConvPadding::same(), Shape{}});
      },
      {"Conv", "dilation of 1 or 2 values", "dilation []"});
}

TEST(ConvOptionsErrors, PaddingOfWrongRank) {
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {2, 3}, 2, {ConvPadding::explicit_sizes({{1, 1}, {2, 2}})});
      },
      {"Conv", "explicit padding of 1 value for a 1-D convolution", "padding [1, 2]"});
  expect_throw_with<std::invalid_argument>(
      [] {
        Conv<float>({1}, {2, 3, 3}, 2, {ConvPadding::explicit_sizes({})});
      },
      {"Conv", "explicit padding of 1 or 2 values", "padding []"});
}

TEST(ConvOptionsErrors, DilatedKernelLargerThanThePaddedInput) {
  // Span 2 (3 - 1) + 1 = 5 along x, padded input 3 + 0 + 1 = 4.
  Conv<float> layer({1}, {1, 1, 3}, 1, {ConvPadding::explicit_sizes({{0, 0}, {0, 1}}), {1, 2}});
  expect_throw_with<std::invalid_argument>(
      [&] {
        layer.forward(Tensor<float>({1, 1, 4, 3}));
      },
      {"Conv", "along x", "input 3 + padding 0 + 1 = 4", "kernel 3 with dilation 2 spanning 5"});
  Conv<double> valid({1}, {1, 4}, 1, {ConvPadding::valid()});
  expect_throw_with<std::invalid_argument>(
      [&] {
        valid.output_shape({1, 1, 3});
      },
      {"Conv", "along y", "input 3 + padding 0 + 0 = 3", "kernel 4 with dilation 1 spanning 4"});
}

// ---- JSON

// The layers, then a classifier head (a description must end in categories).
ModelDescription parsed(const std::string& layers, const std::string& input = "[4, 9, 8]") {
  return parse_model_description(
      testing::with_layers(layers + R"(, {"type": "Flatten"}, {"type": "FullyConnected",
                           "outputs": 2}, {"type": "SoftMax"})",
                           input),
      "net.json");
}

TEST(ConvOptionsJson, KeysReadIntoTheSpecAndShapesFollow) {
  const ModelDescription d = parsed(
      R"({"type": "Conv", "kernels": 8, "kernel": 3, "padding": [1, [0, 2]], "dilation": [2, 1],
          "groups": 4}, {"type": "Conv", "kernels": 2, "kernel": [2, 3], "padding": "valid",
          "stride": 2}, {"type": "Conv", "kernels": 2, "kernel": 1, "padding": 1})");
  const LayerSpec& first = d.layers[0];
  EXPECT_EQ(first.padding, ConvPadding::explicit_sizes({{1, 1}, {0, 2}}));
  EXPECT_EQ(first.dilation, (Shape{2, 1}));
  EXPECT_EQ(first.groups, 4u);
  EXPECT_EQ(d.layers[1].padding, ConvPadding::valid());
  EXPECT_EQ(d.layers[2].padding, ConvPadding::symmetric(1));
  // y: 9 + 2 - 5 + 1 = 7; x: 8 + 2 - 3 + 1 = 8; then valid 2x3 stride 2: 3 x 3; then 1x1 + 2.
  const std::vector<Shape> shapes = infer_shapes(d);
  EXPECT_EQ(shapes[0], (Shape{8, 7, 8}));
  EXPECT_EQ(shapes[1], (Shape{2, 3, 3}));
  EXPECT_EQ(shapes[2], (Shape{2, 5, 5}));
}

TEST(ConvOptionsJson, RoundTripsAndOldDescriptionsStayAsTheyWere) {
  const ModelDescription d = parsed(
      R"({"type": "Conv", "kernels": 4, "kernel": 3, "padding": [[2, 0], 1], "dilation": 2,
          "groups": 2}, {"type": "Conv", "kernels": 4, "kernel": 3, "padding": "valid"})");
  const std::string json = to_json(d);
  EXPECT_NE(json.find("\"padding\": [\n"), std::string::npos) << json;
  EXPECT_NE(json.find("\"valid\""), std::string::npos) << json;
  EXPECT_EQ(parse_model_description(json), d);
  // Without the keys: today's convolution, and none of them written back.
  const ModelDescription old = parsed(R"({"type": "Conv", "kernels": 4, "kernel": 3})");
  EXPECT_EQ(old.layers[0].padding, ConvPadding::same());
  EXPECT_EQ(old.layers[0].dilation, (Shape{1}));
  EXPECT_EQ(old.layers[0].groups, 1u);
  const std::string old_json = to_json(old);
  for (const char* key : {"padding", "dilation", "groups"}) {
    EXPECT_EQ(old_json.find(key), std::string::npos) << key << " in " << old_json;
  }
  // "same" written out is the default.
  EXPECT_EQ(parsed(R"({"type": "Conv", "kernels": 4, "kernel": 3, "padding": "same"})"), old);
}

TEST(ConvOptionsJson, BadValuesNameTheLayerAndTheValue) {
  using testing::BadCase;
  const auto conv = [](const std::string& extra) {
    return testing::with_layers(R"({"type": "Conv", "kernels": 4, "kernel": 3, )" + extra + "}",
                                "[4, 9, 8]");
  };
  testing::expect_messages({
      {"negative padding", conv(R"("padding": -1)"),
       "net.json: layer 0 (Conv) padding: expected a whole number from 0 to 1048576, got -1"},
      {"negative padding in a pair", conv(R"("padding": [[1, -2], 0])"),
       "layer 0 (Conv) padding[0][1]: expected a whole number from 0 to 1048576, got -2"},
      {"unknown padding mode", conv(R"("padding": "full")"),
       "layer 0 (Conv) padding: expected \"same\", \"valid\", a size, or an array of 1 or 2 axes"},
      {"padding pair of three", conv(R"("padding": [[1, 2, 3]])"),
       "layer 0 (Conv) padding[0]: expected [before, after], got [1,2,3]"},
      {"dilation 0", conv(R"("dilation": 0)"),
       "layer 0 (Conv) dilation: expected a whole number from 1 to 1048576, got 0"},
      {"groups 0", conv(R"("groups": 0)"),
       "layer 0 (Conv) groups: expected a whole number from 1 to 1048576, got 0"},
      {"groups not dividing the channels", conv(R"("groups": 3)"),
       "net.json: layer 0 (Conv): Conv: expected groups dividing the 4 input channels, got "
       "groups 3"},
      {"groups not dividing the kernels",
       testing::with_layers(R"({"type": "Conv", "kernels": 6, "kernel": 3, "groups": 4})",
                            "[4, 9, 8]"),
       "Conv: expected groups dividing the 6 kernels, got groups 4"},
      {"dilation for a 1-D input",
       testing::with_layers(R"({"type": "Conv", "kernels": 2, "kernel": 3, "dilation": [1, 2]})",
                            "[4, 9]"),
       "layer 0 (Conv): expected a dilation of at most 1 sizes for the 1-D input [4, 9], got "
       "dilation [1, 2]"},
      {"dilated kernel past the input", conv(R"("padding": "valid", "dilation": 5)"),
       "net.json: layer 0 (Conv): input [4, 9, 8] does not fit: Conv: expected a kernel span of "
       "at most the padded input along y, input 9 + padding 0 + 0 = 9, got kernel 3 with "
       "dilation 5 spanning 11"},
      {"options on a pooling layer",
       testing::with_layers(R"({"type": "Pooling", "window": 2, "padding": 1})", "[4, 9, 8]"),
       "layer 0 (Pooling): unknown parameter 'padding'"},
  });
}

TEST(ConvOptionsJson, SpecOptionsOnAnotherLayerTypeAreRefused) {
  ModelDescription d = parsed(R"({"type": "ReLU"})");
  d.layers[0].groups = 2;
  EXPECT_THROW(validate(d), std::invalid_argument);
  try {
    validate(d);
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("expected no groups for this layer type"),
              std::string::npos)
        << error.what();
  }
}

TEST(ConvOptionsJson, SummaryShowsTheOptions) {
  const ModelDescription d = parsed(
      R"({"type": "Conv", "kernels": 8, "kernel": 3, "padding": "valid", "dilation": 2,
          "groups": 4}, {"type": "Conv", "kernels": 2, "kernel": 3, "padding": [1, [0, 2]]},
          {"type": "Conv", "kernels": 2, "kernel": 3})");
  const std::string text = format_summary(summarize(d));
  EXPECT_NE(text.find("Conv 8 kernels 3x3, stride 1, padding \"valid\", dilation 2, groups 4"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Conv 2 kernels 3x3, stride 1, padding [1, [0, 2]]"), std::string::npos)
      << text;
  // The grouped layer's row: 8 kernels of 4/4 channels x 3x3 plus 8 biases = 80 parameters;
  // output 9 - 5 + 1 = 5 by 8 - 5 + 1 = 4; FLOPs 2 * 8 * 1 * 9 * 5 * 4 = 2,880.
  const std::size_t begin = text.find("groups 4");
  ASSERT_NE(begin, std::string::npos) << text;
  const std::string line = text.substr(begin, text.find('\n', begin) - begin);
  EXPECT_NE(line.find("[8, 5, 4]"), std::string::npos) << line;
  EXPECT_NE(line.find(" 80  2,880"), std::string::npos) << line;
}

TEST(ConvOptionsJson, ModelFilesKeepTheOptions) {
  const ModelDescription d = parse_model_description(testing::with_layers(
      R"({"type": "Conv", "kernels": 6, "kernel": 3, "padding": "valid", "dilation": 2,
          "groups": 3}, {"type": "Conv", "kernels": 6, "kernel": [3, 1], "padding": [[0, 2], 0],
          "groups": 6}, {"type": "Flatten"}, {"type": "FullyConnected", "outputs": 3},
          {"type": "SoftMax"})",
      "[3, 9, 8]"));
  set_seed(3);
  Model<float> model = build_model<float>(d);
  const testing::TempDir dir;
  save_model(dir / "m.safetensors", model.description, model.graph.layers());
  Model<float> loaded = load_model<float>(dir / "m.safetensors");
  EXPECT_EQ(loaded.description, d);
  const auto& conv = dynamic_cast<const Conv<float>&>(*loaded.graph.layers()[1]);
  EXPECT_EQ(conv.options(), (ConvOptions{ConvPadding::explicit_sizes({{0, 2}, {0, 0}}), {1}, 6}));
  EXPECT_EQ(conv.weights().shape(), (Shape{6, 1, 3, 1}));
  Tensor<float> batch({2, 3, 9, 8});
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = float(i % 7) - 3.0f;
  EXPECT_EQ(loaded.forward(batch), model.forward(batch));
}

}  // namespace
}  // namespace cnnkit
