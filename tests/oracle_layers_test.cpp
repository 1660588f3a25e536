// The layers (and the fused softmax + cross-entropy loss) against PyTorch 1.13: forward and
// backward values that scripts/torch_oracle.py computed and committed as
// tests/data/oracle/<layer>.json (inputs, parameters, upstream error, output, input error,
// gradients). No PyTorch is needed here. Each value must agree within |a - b| <= 1e-5 (|b| +
// rms(b)), b PyTorch's value and rms(b) over the whole tensor, in float and in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cnnkit/layers/average_pooling.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/leaky_relu.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/sigmoid.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/layers/tanh.hpp"
#include "cnnkit/loss.hpp"
#include "oracle_helpers.hpp"

namespace cnnkit {
namespace {

using nlohmann::json;

constexpr double kTolerance = 1e-5;

Shape shape_from(const json& value) {
  Shape shape;
  for (const json& extent : value) shape.push_back(extent.get<std::size_t>());
  return shape;
}

template <typename T>
void expect_close(const Tensor<T>& actual, const json& expected_json, const std::string& what) {
  test::expect_close(actual, expected_json, what, kTolerance);
}

using test::load_oracle;
using test::tensor_from;
// Conv's options as the script writes them: padding "same", "valid", p, or per axis p or
// [before, after]; dilation per axis; groups. Absent keys are today's convolution.
ConvOptions conv_options_from(const json& p) {
  ConvOptions options;
  if (p.contains("dilation")) options.dilation = shape_from(p.at("dilation"));
  options.groups = p.value("groups", std::size_t{1});
  if (!p.contains("padding")) return options;
  const json& padding = p.at("padding");
  if (padding.is_string()) {
    options.padding =
        padding.get<std::string>() == "valid" ? ConvPadding::valid() : ConvPadding::same();
  } else if (padding.is_number()) {
    options.padding = ConvPadding::symmetric(padding.get<std::size_t>());
  } else {
    std::vector<AxisPadding> sizes;
    for (const json& axis : padding) {
      sizes.push_back(axis.is_array()
                          ? AxisPadding{axis[0].get<std::size_t>(), axis[1].get<std::size_t>()}
                          : AxisPadding{axis.get<std::size_t>(), axis.get<std::size_t>()});
    }
    options.padding = ConvPadding::explicit_sizes(std::move(sizes));
  }
  return options;
}

// The layer a case describes, from its "params".
template <typename T>
using LayerMaker = std::function<std::unique_ptr<Layer<T>>(const json& params)>;

template <typename T>
std::map<std::string, LayerMaker<T>> layer_makers() {
  return {
      {"ReLU", [](const json&) { return std::make_unique<ReLU<T>>(); }},
      {"SoftMax", [](const json&) { return std::make_unique<SoftMax<T>>(); }},
      {"Sigmoid", [](const json&) { return std::make_unique<Sigmoid<T>>(); }},
      {"TanH", [](const json&) { return std::make_unique<TanH<T>>(); }},
      {"LeakyReLU",
       [](const json& p) { return std::make_unique<LeakyReLU<T>>(p.at("slope").get<T>()); }},
      {"AveragePooling",
       [](const json& p) {
         return std::make_unique<AveragePooling<T>>(shape_from(p.at("stride")),
                                                    shape_from(p.at("window")));
       }},
      {"GlobalAveragePooling",
       [](const json&) { return std::make_unique<GlobalAveragePooling<T>>(); }},
      {"BatchNorm",
       [](const json& p) {
         return std::make_unique<BatchNorm<T>>(p.at("channels").get<std::size_t>(),
                                               p.at("momentum").get<double>(),
                                               p.at("epsilon").get<double>());
       }},
      {"Pooling",
       [](const json& p) {
         return std::make_unique<Pooling<T>>(shape_from(p.at("stride")),
                                             shape_from(p.at("window")));
       }},
      {"Conv",
       [](const json& p) {
         return std::make_unique<Conv<T>>(shape_from(p.at("stride")),
                                          shape_from(p.at("convolution_shape")),
                                          p.at("kernels").get<std::size_t>(), conv_options_from(p));
       }},
      {"FullyConnected",
       [](const json& p) {
         return std::make_unique<FullyConnected<T>>(p.at("inputs").get<std::size_t>(),
                                                    p.at("outputs").get<std::size_t>());
       }},
  };
}

// Every case of one layer's file: parameters set from the file, one training-phase forward and
// backward, each result against PyTorch's.
// `file` names the oracle file when it is not the layer's name (ConvOptions: more Conv cases).
template <typename T>
void expect_layer_matches_torch(const std::string& layer_name, const std::string& file = "") {
  const json oracle = load_oracle(file.empty() ? layer_name : file);
  ASSERT_EQ(oracle.at("layer").get<std::string>(), layer_name);
  ASSERT_FALSE(oracle.at("cases").empty());
  for (const json& c : oracle.at("cases")) {
    const std::string name = layer_name + " " + c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    const std::unique_ptr<Layer<T>> layer = layer_makers<T>().at(layer_name)(c.at("params"));
    const std::vector<Parameter<T>*> parameters = layer->parameters();
    ASSERT_EQ(parameters.size(), c.at("parameters").size());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      parameters[i]->value = tensor_from<T>(c.at("parameters")[i]);
    }
    // The state that is not trained (BatchNorm's running statistics), where the case has it.
    const std::vector<LayerBuffer<T>> buffers = layer->buffers();
    ASSERT_EQ(buffers.size(), c.value("buffers_before", json::array()).size());
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      *buffers[i].value = tensor_from<T>(c.at("buffers_before")[i]);
    }
    const json& tensors = c.at("tensors");
    const Tensor<T> output = layer->forward(tensor_from<T>(tensors.at("input")));
    expect_close(output, tensors.at("output"), name + " output");
    const Tensor<T> input_error = layer->backward(tensor_from<T>(tensors.at("error")));
    expect_close(input_error, tensors.at("input_error"), name + " input error");
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      expect_close(parameters[i]->gradient, c.at("gradients")[i],
                   name + " gradient of " + parameters[i]->name);
    }
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      expect_close(*buffers[i].value, c.at("buffers_after")[i],
                   name + " " + buffers[i].name + " after the training step");
    }
    if (c.contains("test_input")) {
      layer->set_testing_phase(true);
      expect_close(layer->forward(tensor_from<T>(c.at("test_input"))), c.at("test_output"),
                   name + " testing-phase output");
    }
  }
}

template <typename T>
class OracleLayers : public ::testing::Test {};

using FloatTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(OracleLayers, FloatTypes);

TYPED_TEST(OracleLayers, ReLU) {
  expect_layer_matches_torch<TypeParam>("ReLU");
}
TYPED_TEST(OracleLayers, SoftMax) {
  expect_layer_matches_torch<TypeParam>("SoftMax");
}

// The fused loss against F.cross_entropy: the loss, d loss / d logits and the probabilities
// prediction_from gives, for the reductions sum and mean. In the confidently wrong cases the true
// class's probability is below float's eps: there SoftMax + CrossEntropyLoss (the lecture's)
// passes the logits an error of nearly 0 while the fused loss, like PyTorch, gives -1 (sum).
TYPED_TEST(OracleLayers, SoftmaxCrossEntropyLoss) {
  using T = TypeParam;
  const json oracle = load_oracle("SoftmaxCrossEntropy");
  ASSERT_EQ(oracle.at("cases").size(), 6u);
  for (const json& c : oracle.at("cases")) {
    const std::string name = "SoftmaxCrossEntropy " + c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    SoftmaxCrossEntropyLoss<T> loss(reduction_from_string(c.at("reduction").get<std::string>()));
    const Tensor<T> logits = tensor_from<T>(c.at("logits"));
    const Tensor<T> label = tensor_from<T>(c.at("label"));
    const double expected = c.at("loss").get<double>();
    EXPECT_NEAR(static_cast<double>(loss.forward(logits, label)), expected,
                kTolerance * std::abs(expected));
    const Tensor<T> gradient = loss.backward(label);
    expect_close(gradient, c.at("gradient"), name + " gradient");
    expect_close(loss.prediction_from(Tensor<T>(logits)), c.at("probabilities"),
                 name + " probabilities");
    if (name.find("confidently_wrong") == std::string::npos) continue;
    // The lecture's form on the same samples: SoftMax, then -log(p + eps).
    SoftMax<T> softmax;
    CrossEntropyLoss<T> lecture(loss.reduction());
    lecture.forward(softmax.forward(logits), label);
    const Tensor<T> lecture_gradient = softmax.backward(lecture.backward(label));
    const double batch_scale =
        loss.reduction() == Reduction::kMean ? 1.0 / double(logits.dim(0)) : 1.0;
    for (std::size_t i = 0; i < label.size(); ++i) {
      if (label[i] != T(1)) continue;
      EXPECT_NEAR(static_cast<double>(gradient[i]), -batch_scale, 1e-6) << "fused, at " << i;
      EXPECT_LT(std::abs(static_cast<double>(lecture_gradient[i])), 1e-3 * batch_scale)
          << "lecture's form, at " << i;
    }
  }
}
TYPED_TEST(OracleLayers, MaxPooling) {
  expect_layer_matches_torch<TypeParam>("Pooling");
}
TYPED_TEST(OracleLayers, Conv) {
  expect_layer_matches_torch<TypeParam>("Conv");
}
// Padding "valid" and explicit (asymmetric), dilation 2 and 3, groups 2 and 3, depthwise.
TYPED_TEST(OracleLayers, ConvOptions) {
  expect_layer_matches_torch<TypeParam>("Conv", "ConvOptions");
}
TYPED_TEST(OracleLayers, FullyConnected) {
  expect_layer_matches_torch<TypeParam>("FullyConnected");
}
TYPED_TEST(OracleLayers, Sigmoid) {
  expect_layer_matches_torch<TypeParam>("Sigmoid");
}
TYPED_TEST(OracleLayers, TanH) {
  expect_layer_matches_torch<TypeParam>("TanH");
}
TYPED_TEST(OracleLayers, LeakyReLU) {
  expect_layer_matches_torch<TypeParam>("LeakyReLU");
}
TYPED_TEST(OracleLayers, AveragePooling) {
  expect_layer_matches_torch<TypeParam>("AveragePooling");
}
TYPED_TEST(OracleLayers, GlobalAveragePooling) {
  expect_layer_matches_torch<TypeParam>("GlobalAveragePooling");
}
TYPED_TEST(OracleLayers, BatchNorm) {
  expect_layer_matches_torch<TypeParam>("BatchNorm");
}

}  // namespace
}  // namespace cnnkit
