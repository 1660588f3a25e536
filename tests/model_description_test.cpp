// Model descriptions: presets, shape inference, the summary's numbers (computed by hand), JSON
// round trips, and one message per kind of bad file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

TEST(ModelDescription, DigitsCnnPresetMatchesWorkloadW2) {
  const ModelDescription d = preset("digits-cnn");
  EXPECT_EQ(d.name, "digits-cnn");
  EXPECT_EQ(d.input_shape, (Shape{1, 8, 8}));
  ASSERT_EQ(d.layers.size(), 8u);
  EXPECT_EQ(d.layers[0].type, "Conv");
  EXPECT_EQ(d.layers[0].kernels, 4u);
  EXPECT_EQ(d.layers[0].kernel, (Shape{3, 3}));
  EXPECT_EQ(d.layers[4].outputs, 32u);
  EXPECT_EQ(d.optimizer.type, "Adam");
  EXPECT_DOUBLE_EQ(d.optimizer.learning_rate, 5e-3);
  EXPECT_DOUBLE_EQ(d.optimizer.mu, 0.98);
  EXPECT_DOUBLE_EQ(d.optimizer.rho, 0.999);
  EXPECT_EQ(d.weights_initializer.type, "He");
  EXPECT_EQ(d.bias_initializer.type, "Constant");
  EXPECT_DOUBLE_EQ(d.bias_initializer.value, 0.1);
  EXPECT_EQ(d.classes.size(), 10u);
}

TEST(ModelDescription, DigitsCnnShapesAreInferred) {
  // Conv "same" keeps 8x8; pooling 2/2 halves it; flatten 4*4*4 = 64.
  const std::vector<Shape> expected{{4, 8, 8}, {4, 8, 8}, {4, 4, 4}, {64}, {32}, {32}, {10}, {10}};
  EXPECT_EQ(infer_shapes(preset("digits-cnn")), expected);
}

TEST(ModelDescription, FashionLenetShapesMatchWorkloadW1) {
  const ModelDescription d = preset("fashion-lenet");
  const std::vector<Shape> shapes = infer_shapes(d);
  ASSERT_EQ(shapes.size(), 13u);
  EXPECT_EQ(shapes[0], (Shape{6, 28, 28}));
  EXPECT_EQ(shapes[2], (Shape{6, 14, 14}));
  EXPECT_EQ(shapes[3], (Shape{16, 14, 14}));
  EXPECT_EQ(shapes[5], (Shape{16, 7, 7}));
  EXPECT_EQ(shapes[6], (Shape{784}));  // the "Flatten (784)" of W1
  EXPECT_EQ(shapes[7], (Shape{120}));
  EXPECT_EQ(shapes[9], (Shape{84}));
  EXPECT_EQ(shapes[12], (Shape{10}));
  EXPECT_DOUBLE_EQ(d.optimizer.learning_rate, 1e-3);
  EXPECT_DOUBLE_EQ(d.optimizer.mu, 0.9);
  EXPECT_DOUBLE_EQ(d.optimizer.epsilon, 1e-8);
}

// W4 of docs/WORKLOADS.md: stem, three residual blocks (the second strided, with a 1x1
// convolution on its skip), global average pooling, AdamW with decoupled decay and a cosine.
TEST(ModelDescription, FashionResnetMatchesWorkloadW4) {
  const ModelDescription d = preset("fashion-resnet");
  const std::vector<Shape> shapes = infer_shapes(d);
  ASSERT_EQ(d.layers.size(), 29u);
  ASSERT_EQ(shapes.size(), 29u);
  EXPECT_EQ(shapes[2], (Shape{16, 28, 28}));  // stem.relu
  EXPECT_EQ(d.layers[9].name, "block1.relu");
  EXPECT_EQ(shapes[9], (Shape{16, 28, 28}));
  EXPECT_EQ(d.layers[13].name, "block2.conv2");
  EXPECT_EQ(shapes[13], (Shape{32, 14, 14}));
  EXPECT_EQ(d.layers[15].name, "block2.skip.conv");
  EXPECT_EQ(d.layers[15].inputs, (std::vector<std::string>{"block1.relu"}));
  EXPECT_EQ(d.layers[17].inputs, (std::vector<std::string>{"block2.bn2", "block2.skip.bn"}));
  EXPECT_EQ(shapes[25], (Shape{32, 14, 14}));  // block3.relu
  EXPECT_EQ(shapes[26], (Shape{32}));          // global average pooling
  EXPECT_EQ(shapes[28], (Shape{10}));
  // Parameters by hand: stem 16*9 + 16 + BN 32 = 192; block 1: 2 * (16*16*9 + 16 + 32) = 4704;
  // block 2: 32*16*9 + 32 + 64 + 32*32*9 + 32 + 64 + skip 32*16 + 32 + 64 = 14,624; block 3:
  // 2 * (32*32*9 + 32 + 64) = 18,624; FC 32*10 + 10 = 330. In all 38,474.
  EXPECT_EQ(summarize(d).total_parameters, 38474u);
  EXPECT_EQ(d.optimizer.type, "AdamW");
  EXPECT_DOUBLE_EQ(d.optimizer.learning_rate, 1e-3);
  EXPECT_DOUBLE_EQ(d.optimizer.weight_decay, 1e-4);
  EXPECT_TRUE(d.optimizer.decay_bias_and_norm);
  EXPECT_EQ(d.schedule.type, "cosine");
  EXPECT_EQ(d.schedule.warmup_steps, 0u);
  EXPECT_EQ(d.loss, "CrossEntropyLoss");
  EXPECT_EQ(d.loss_reduction, "sum");
}

TEST(ModelDescription, IrisMlpPresetTakesFourFeatures) {
  const ModelDescription d = preset("iris-mlp");
  EXPECT_EQ(d.input_shape, (Shape{4}));
  EXPECT_EQ(num_outputs(d), 3u);
  EXPECT_EQ(d.classes, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
}

TEST(ModelDescription, DigitsCnnSummaryHasHandComputedCounts) {
  const ModelSummary s = summarize(preset("digits-cnn"));
  ASSERT_EQ(s.rows.size(), 8u);
  // Conv: 4 kernels of 1x3x3 plus 4 biases = 40. FC 64->32: 64*32 + 32 = 2080. FC 32->10: 330.
  const std::vector<std::size_t> parameters{40, 0, 0, 0, 2080, 0, 330, 0};
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    EXPECT_EQ(s.rows[i].parameters, parameters[i]) << "row " << i;
  }
  EXPECT_EQ(s.total_parameters, 2450u);
  // FLOPs (WORKLOADS.md count): conv 2*K*C*m*n*Y'*X' = 2*4*1*9*64; FC 2*in*out.
  EXPECT_EQ(s.rows[0].flops, 4608u);
  EXPECT_EQ(s.rows[4].flops, 4096u);
  EXPECT_EQ(s.rows[6].flops, 640u);
  EXPECT_EQ(s.rows[0].output_shape, (Shape{4, 8, 8}));
  EXPECT_EQ(s.rows[0].layer, "Conv 4 kernels 3x3, stride 1");
  EXPECT_EQ(s.rows[4].layer, "FullyConnected 64 -> 32");
  std::size_t flops = 0;
  for (const SummaryRow& row : s.rows) flops += row.flops;
  EXPECT_EQ(s.total_flops, flops);

  const std::string table = format_summary(s);
  EXPECT_NE(table.find("Total parameters: 2,450"), std::string::npos) << table;
  EXPECT_NE(table.find("FullyConnected 64 -> 32"), std::string::npos) << table;
  EXPECT_NE(table.find("4,608"), std::string::npos) << table;
}

TEST(ModelDescription, FashionLenetParameterTotal) {
  // 6*25+6 + 16*6*25+16 + 784*120+120 + 120*84+84 + 84*10+10 = 156+2416+94200+10164+850.
  EXPECT_EQ(summarize(preset("fashion-lenet")).total_parameters, 107786u);
}

TEST(ModelDescription, JsonRoundTripsEveryPreset) {
  for (const std::string& name : preset_names()) {
    const ModelDescription d = preset(name);
    EXPECT_EQ(parse_model_description(to_json(d)), d) << name;
  }
}

TEST(ModelDescription, DefaultsAndShortFormsAreFilledIn) {
  const ModelDescription d = parse_model_description(with_layers(
      R"({"type": "Conv", "kernels": 2, "kernel": 3}, {"type": "Pooling", "window": 2},
         {"type": "Flatten"}, {"type": "FullyConnected", "outputs": 5}, {"type": "SoftMax"})"));
  EXPECT_EQ(d.layers[0].stride, (Shape{1}));
  EXPECT_EQ(d.layers[1].stride, (Shape{2}));  // pooling stride defaults to its window
  EXPECT_EQ(d.optimizer, OptimizerSpec{});
  EXPECT_EQ(d.loss, "CrossEntropyLoss");
  // kernel 3 on a 2-D input means 3x3: 2 kernels * 1 * 9 + 2 = 20 parameters, 8x8 kept.
  const ModelSummary s = summarize(d);
  EXPECT_EQ(s.rows[0].parameters, 20u);
  EXPECT_EQ(s.rows[1].output_shape, (Shape{2, 4, 4}));
  EXPECT_EQ(s.rows[3].parameters, 32u * 5u + 5u);
  EXPECT_EQ(parse_model_description(to_json(d)), d);
}

TEST(ModelDescription, OneDimensionalConvolution) {
  // Input (2 channels, 10): kernel 3, stride 2 -> ceil(10 / 2) = 5 positions, 3 kernels.
  const ModelDescription d = parse_model_description(with_layers(
      R"({"type": "Conv", "kernels": 3, "kernel": 3, "stride": 2}, {"type": "Flatten"},
         {"type": "FullyConnected", "outputs": 4}, {"type": "SoftMax"})",
      "[2, 10]"));
  const std::vector<Shape> expected{{3, 5}, {15}, {4}, {4}};
  EXPECT_EQ(infer_shapes(d), expected);
  EXPECT_EQ(summarize(d).rows[0].parameters, 3u * 2u * 3u + 3u);
}

TEST(ModelDescription, CheckingDoesNotDrawFromTheRandomEngine) {
  set_seed(11);
  const auto first = random_engine()();
  set_seed(11);
  infer_shapes(preset("fashion-lenet"));
  summarize(preset("digits-cnn"));
  EXPECT_EQ(random_engine()(), first);
}

TEST(ModelDescription, BuildModelAndBuildNetworkGiveTheSameWeights) {
  const ModelDescription d = preset("digits-cnn");
  set_seed(3);
  const Model<float> model = build_model<float>(d);
  set_seed(3);
  const auto network = build_network<float>(d);
  ASSERT_EQ(model.graph.layers().size(), network->layers().size());
  for (std::size_t i = 0; i < model.graph.layers().size(); ++i) {
    const auto a = std::as_const(*model.graph.layers()[i]).parameters();
    const auto b = std::as_const(*network->layers()[i]).parameters();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t p = 0; p < a.size(); ++p) {
      EXPECT_EQ(a[p]->value, b[p]->value) << "layer " << i;
      ASSERT_NE(a[p]->optimizer, nullptr);
      EXPECT_EQ(a[p]->optimizer->name(), "Adam");
    }
  }
  // He-initialized weights are not all equal; biases are Constant(0.1).
  const auto conv = std::as_const(*model.graph.layers()[0]).parameters();
  EXPECT_NE(conv[0]->value[0], conv[0]->value[1]);
  for (const float b : conv[1]->value) EXPECT_FLOAT_EQ(b, 0.1f);
}

TEST(ModelDescription, ModelForwardGivesProbabilities) {
  set_seed(1);
  Model<float> model = build_model<float>(preset("iris-mlp"));
  const Tensor<float> out = model.forward(Tensor<float>({2, 4}, 1.0f));
  ASSERT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_NEAR(out(0, 0) + out(0, 1) + out(0, 2), 1.0f, 1e-6f);
  try {
    model.forward(Tensor<float>({2, 5}));
    FAIL() << "expected a shape error";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "model 'iris-mlp': expected input [batch, 4], got [2, 5]");
  }
}

// ---- bad descriptions: one clear message each

TEST(ModelDescription, EachBadDescriptionHasItsMessage) {
  const std::string tail = R"(, {"type": "Flatten"}, {"type": "FullyConnected", "outputs": 10},
                              {"type": "SoftMax"})";
  const std::vector<BadCase> cases{
      // The '}' is the 39th character: nlohmann counts columns and bytes from 1.
      {"syntax", R"({"input_shape": [1, 8, 8], "layers": [})",
       "net.json: invalid JSON: parse error at line 1, column 39: syntax error while parsing "
       "value - unexpected '}'"},
      {"syntax offset", R"({"input_shape": [1, 8, 8], "layers": [})", "(byte 39)"},
      {"empty", "", "net.json: invalid JSON"},
      // Found by fuzz/model_json_fuzz: nlohmann reports this one as out_of_range, not parse_error.
      {"number overflow", R"({"input_shape": [1e999], "layers": []})",
       "net.json: invalid JSON: number overflow parsing '1e999'"},
      {"not an object", "[1, 2]", "net.json: the document: expected a JSON object"},
      {"unknown top key", R"({"input_shape": [4], "layer": []})",
       "net.json: the document: unknown key 'layer' (known: name, input_shape, classes, layers,"},
      {"missing layers", R"({"input_shape": [4]})",
       "net.json: the document: expected a key \"layers\", got none"},
      {"unknown parameter", with_layers(R"({"type": "ReLU"}, {"type": "ReLU"}, {"type": "ReLU"},
                      {"type": "Conv", "kernels": 4, "kernal": [3, 3]})"),
       "net.json: layer 3 (Conv): unknown parameter 'kernal' (known: type, name, inputs, "
       "kernels, kernel, stride, padding, dilation, groups)"},
      {"unknown type", with_layers(R"({"type": "Conv2D", "kernels": 4})"),
       "net.json: layer 0: unknown layer type 'Conv2D' (known: Conv, Pooling, AveragePooling, "
       "GlobalAveragePooling, FullyConnected, BatchNorm, Flatten, ReLU, LeakyReLU, Sigmoid, TanH, "
       "SoftMax, Add, Concat, Dropout, Normalize; registered: none (a user layer is registered "
       "with "
       "register_layer, cnnkit/registry.hpp))"},
      {"type missing", with_layers(R"({"kernels": 4})"),
       "net.json: layer 0: expected a key \"type\", got none"},
      {"parameter missing", with_layers(R"({"type": "Conv", "kernel": 3})" + tail),
       "net.json: layer 0 (Conv): expected a key \"kernels\", got none"},
      {"string for a size", with_layers(R"({"type": "Conv", "kernels": "4", "kernel": 3})" + tail),
       "net.json: layer 0 (Conv) kernels: expected a whole number from 1 to 1048576, got \"4\""},
      {"fraction", with_layers(R"({"type": "Conv", "kernels": 4.5, "kernel": 3})" + tail),
       "layer 0 (Conv) kernels: expected a whole number from 1 to 1048576, got 4.5"},
      {"zero", with_layers(R"({"type": "Flatten"}, {"type": "FullyConnected", "outputs": 0})"),
       "layer 1 (FullyConnected) outputs: expected a whole number from 1 to 1048576, got 0"},
      {"negative", with_layers(R"({"type": "Pooling", "window": -2})"),
       "layer 0 (Pooling) window: expected a whole number from 1 to 1048576, got -2"},
      {"kernel rank", with_layers(R"({"type": "Conv", "kernels": 1, "kernel": [3, 3, 3]})"),
       "layer 0 (Conv) kernel: expected a size or an array of 1 to 2 sizes, got [3,3,3]"},
      {"FC without Flatten", with_layers(R"({"type": "FullyConnected", "outputs": 10})"),
       "net.json: layer 0 (FullyConnected): expected input (features), got [1, 8, 8] (put a "
       "Flatten layer before it)"},
      {"1-D kernel on 2-D input",
       with_layers(R"({"type": "Conv", "kernels": 2, "kernel": [3, 3]})", "[1, 8]"),
       "layer 0 (Conv): expected a kernel of 1 sizes for the 1-D input [1, 8], got kernel [3, 3]"},
      {"window too big", with_layers(R"({"type": "Pooling", "window": 3})" + tail, "[1, 2, 2]"),
       "net.json: layer 0 (Pooling): input [1, 2, 2] does not fit: Pooling:"},
      {"pooling on features",
       with_layers(R"({"type": "Flatten"}, {"type": "Pooling", "window": 2})"),
       "layer 1 (Pooling): expected input (channels, length) or (channels, y, x), got [64]"},
      {"input rank", with_layers(R"({"type": "ReLU"})", "[1, 2, 3, 4]"),
       "input_shape: expected a size or an array of 1 to 3 sizes, got [1,2,3,4]"},
      {"no layers", with_layers(""), "net.json: layers: expected at least one layer, got none"},
      {"ends with a map", with_layers(R"({"type": "ReLU"})"),
       "net.json: layers: expected the last layer to output (categories), got [1, 8, 8]"},
      {"no SoftMax", with_layers(R"({"type": "Flatten"})"),
       "net.json: layers: expected SoftMax as the last layer for CrossEntropyLoss"},
      {"too big",
       with_layers(R"({"type": "Flatten"}, {"type": "FullyConnected", "outputs": 1048576})",
                   "[1024, 1024]"),
       "layer 1 (FullyConnected): expected at most 67108864 weights, got 1048576 x 1048576"},
      {"classes count",
       R"({"input_shape": [4], "classes": ["a", "b"], "layers": [{"type": "FullyConnected",
           "outputs": 3}, {"type": "SoftMax"}]})",
       "net.json: classes: expected 3 names (one per output), got 2"},
      {"duplicate class",
       R"({"input_shape": [4], "classes": ["a", "b", "a"], "layers": [{"type": "FullyConnected",
           "outputs": 3}, {"type": "SoftMax"}]})",
       "net.json: classes[2]: expected unique names, got \"a\" twice"},
      {"unknown optimizer",
       R"({"input_shape": [4], "layers": [{"type": "SoftMax"}], "optimizer": {"type": "Adamw"}})",
       "net.json: optimizer: optimizer: unknown type 'Adamw' (known: Adam, AdamW, Sgd, "
       "SgdWithMomentum; registered: none (a user optimizer is registered with "
       "register_optimizer, cnnkit/registry.hpp))"},
      {"bad learning rate",
       R"({"input_shape": [4], "layers": [{"type": "SoftMax"}],
           "optimizer": {"type": "Sgd", "learning_rate": -1}})",
       "net.json: optimizer: Sgd: expected"},
      {"optimizer parameter of another type",
       R"({"input_shape": [4], "layers": [{"type": "SoftMax"}],
           "optimizer": {"type": "Sgd", "mu": 0.9}})",
       "net.json: optimizer (Sgd): unknown parameter 'mu' (known: type, learning_rate, "
       "weight_decay, decay_bias_and_norm)"},
      {"unknown initializer",
       R"({"input_shape": [4], "layers": [{"type": "SoftMax"}],
           "weights_initializer": {"type": "Glorot"}})",
       "net.json: weights_initializer: initializer: unknown type 'Glorot'"},
      {"unknown loss", R"({"input_shape": [4], "layers": [{"type": "SoftMax"}], "loss": "MSE"})",
       "net.json: loss: loss: unknown type 'MSE' (known: CrossEntropyLoss, L2Loss, "
       "SoftmaxCrossEntropy)"},
  };
  expect_messages(cases);
}

TEST(ModelDescription, MissingFileNamesThePath) {
  try {
    load_model_description("/nonexistent/net.json");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("expected a readable file at '/nonexistent/net.json'"),
              std::string::npos)
        << error.what();
  }
}

TEST(ModelDescription, FileUsesItsPathInMessages) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("cnnkit_model_description_test_" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream file(path);
    file << with_layers(R"({"type": "Conv", "kernels": 4, "kernal": 3})");
  }
  try {
    resolve_model_description(path.string());
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()),
              path.string() +
                  ": layer 0 (Conv): unknown parameter 'kernal' (known: type, "
                  "name, inputs, kernels, kernel, stride, padding, dilation, groups)");
  }
  std::filesystem::remove(path);
}

TEST(ModelDescription, UnknownPresetListsThePresets) {
  try {
    preset("lenet");
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(),
                 "preset: expected one of fashion-lenet, fashion-resnet, digits-cnn, iris-mlp, got "
                 "'lenet'");
  }
}

TEST(ModelDescription, ValidateRejectsFieldsOfAnotherLayerType) {
  ModelDescription d = preset("digits-cnn");
  d.layers[2].kernel = {3, 3};  // a Pooling with a kernel
  try {
    validate(d);
    FAIL() << "expected an error";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(),
                 "model 'digits-cnn': layer 2 (Pooling): expected no kernel for this layer "
                 "type, got one");
  }
}

}  // namespace
}  // namespace cnnkit
