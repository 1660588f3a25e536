#include "cnnkit/gradient_check.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/optimizers.hpp"

namespace cnnkit {
namespace {

// What the test-only layer gets wrong in backward().
enum class Mistake { kNone, kInputErrorDoubled, kWeightGradientHalved, kTinyBiasNoise };

// y = w * x + b with one scalar weight and one scalar bias, its backward written by hand and,
// for the negative tests, deliberately wrong in one place.
class ScaleLayer : public Layer<double> {
 public:
  using Layer<double>::backward;
  using Layer<double>::forward;
  explicit ScaleLayer(Mistake mistake = Mistake::kNone)
      : mistake_(mistake),
        weights_("weights", Tensor<double>({1}, 1.5)),
        bias_("bias", Tensor<double>({1}, -0.25)) {}

  std::string type() const override { return "Scale"; }
  Tensor<double> forward(const Tensor<double>& input) override {
    input_ = input;
    Tensor<double> output(input.shape());
    for (std::size_t i = 0; i < input.size(); ++i) {
      output[i] = weights_.value[0] * input[i] + bias_.value[0];
    }
    return output;
  }
  Tensor<double> backward(const Tensor<double>& error_tensor) override {
    Tensor<double> input_error(error_tensor.shape());
    double weight_gradient = 0;
    double bias_gradient = 0;
    for (std::size_t i = 0; i < error_tensor.size(); ++i) {
      input_error[i] = weights_.value[0] * error_tensor[i];
      weight_gradient += error_tensor[i] * input_[i];
      bias_gradient += error_tensor[i];
    }
    if (mistake_ == Mistake::kInputErrorDoubled) {
      for (double& e : input_error) e *= 2;
    }
    if (mistake_ == Mistake::kWeightGradientHalved) weight_gradient /= 2;
    if (mistake_ == Mistake::kTinyBiasNoise) bias_gradient = 1e-12;  // the true gradient is 0
    weights_.gradient[0] = weight_gradient;
    bias_.gradient[0] = bias_gradient;
    apply_updates();
    return input_error;
  }
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }
  std::vector<Parameter<double>*> parameters() override { return {&weights_, &bias_}; }

 private:
  Mistake mistake_;
  Parameter<double> weights_;
  Parameter<double> bias_;
  Tensor<double> input_;
};

const Tensor<double> kInput({2, 3}, std::vector<double>{0.5, -1.0, 2.0, 0.25, 1.5, -0.75});
const Tensor<double> kLabel({2, 3}, std::vector<double>{1.0, 0.0, -1.0, 2.0, 0.5, 0.0});

double entry(const GradientCheckResult& result, const std::string& what) {
  for (const GradientCheckEntry& e : result.entries) {
    if (e.what == what) return e.max_relative_error;
  }
  ADD_FAILURE() << "no entry named " << what;
  return -1;
}

TEST(GradientCheck, CorrectLayerPassesAndEntriesAreNamed) {
  ScaleLayer first;
  ScaleLayer second;
  L2Loss<double> loss;
  const GradientCheckResult result =
      gradient_check<double>({&first, &second}, loss, kInput, kLabel);
  ASSERT_EQ(result.entries.size(), 5u);
  EXPECT_EQ(result.entries[0].what, "input");
  EXPECT_EQ(result.entries[1].what, "layer 0 (Scale) weights");
  EXPECT_EQ(result.entries[2].what, "layer 0 (Scale) bias");
  EXPECT_EQ(result.entries[3].what, "layer 1 (Scale) weights");
  EXPECT_EQ(result.entries[4].what, "layer 1 (Scale) bias");
  EXPECT_LT(result.worst(), 1e-8);
}

TEST(GradientCheck, DetectsWrongInputError) {
  ScaleLayer layer(Mistake::kInputErrorDoubled);
  L2Loss<double> loss;
  const GradientCheckResult result = gradient_check<double>({&layer}, loss, kInput, kLabel);
  // analytic = 2 * numeric everywhere: |2n - n| / (2|n| + |n|) = 1/3.
  EXPECT_NEAR(entry(result, "input"), 1.0 / 3.0, 1e-6);
  EXPECT_LT(entry(result, "layer 0 (Scale) weights"), 1e-8);
  EXPECT_NEAR(result.worst(), 1.0 / 3.0, 1e-6);
}

TEST(GradientCheck, DetectsWrongWeightGradient) {
  ScaleLayer layer(Mistake::kWeightGradientHalved);
  L2Loss<double> loss;
  const GradientCheckResult result = gradient_check<double>({&layer}, loss, kInput, kLabel);
  EXPECT_LT(entry(result, "input"), 1e-8);
  EXPECT_LT(entry(result, "layer 0 (Scale) bias"), 1e-8);
  // analytic = numeric / 2: |n/2 - n| / (3|n|/2) = 1/3.
  EXPECT_NEAR(entry(result, "layer 0 (Scale) weights"), 1.0 / 3.0, 1e-6);
}

TEST(GradientCheck, AbsoluteFloorSkipsNearZeroNoise) {
  // Choose the label so the bias gradient sum(2 (w x + b - l)) is exactly 0: l = w x + b - c
  // with the c summing to 0.
  const Tensor<double> input({1, 2}, std::vector<double>{1.0, 3.0});
  const Tensor<double> label({1, 2},
                             std::vector<double>{1.5 * 1.0 - 0.25 - 0.5, 1.5 * 3.0 - 0.25 + 0.5});
  L2Loss<double> loss;
  ScaleLayer skipped(Mistake::kTinyBiasNoise);
  EXPECT_EQ(entry(gradient_check<double>({&skipped}, loss, input, label, 1e-5, 1e-9),
                  "layer 0 (Scale) bias"),
            0.0);
  ScaleLayer counted(Mistake::kTinyBiasNoise);
  // With no floor the 1e-12 against a numeric ~0 counts as (almost) fully wrong.
  EXPECT_GT(entry(gradient_check<double>({&counted}, loss, input, label, 1e-5, 0.0),
                  "layer 0 (Scale) bias"),
            0.5);
}

TEST(GradientCheck, LeavesInputAndParametersUnchanged) {
  ScaleLayer layer;
  L2Loss<double> loss;
  const Tensor<double> input = kInput;
  gradient_check<double>({&layer}, loss, input, kLabel);
  EXPECT_EQ(input, kInput);
  EXPECT_EQ(layer.parameters()[0]->value[0], 1.5);
  EXPECT_EQ(layer.parameters()[1]->value[0], -0.25);
  // The caches hold the unperturbed forward pass: E = 2 (1.5 x - 0.25 - label).
  const Tensor<double> error = loss.backward(kLabel);
  for (std::size_t i = 0; i < error.size(); ++i) {
    EXPECT_NEAR(error[i], 2 * (1.5 * kInput[i] - 0.25 - kLabel[i]), 1e-12) << i;
  }
}

TEST(GradientCheck, ChecksTheLossAloneWithoutLayers) {
  L2Loss<double> loss;
  const GradientCheckResult result = gradient_check<double>({}, loss, kInput, kLabel);
  ASSERT_EQ(result.entries.size(), 1u);
  EXPECT_LT(result.worst(), 1e-8);
}

TEST(GradientCheck, RejectsLayersWithAnOptimizer) {
  ScaleLayer layer;
  layer.set_optimizer(Sgd<double>(0.1));
  L2Loss<double> loss;
  try {
    gradient_check<double>({&layer}, loss, kInput, kLabel);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer 0 (Scale)"), std::string::npos) << e.what();
  }
}

TEST(GradientCheck, RejectsNullLayerAndBadStep) {
  L2Loss<double> loss;
  EXPECT_THROW(gradient_check<double>({nullptr}, loss, kInput, kLabel), std::invalid_argument);
  ScaleLayer layer;
  EXPECT_THROW(gradient_check<double>({&layer}, loss, kInput, kLabel, 0.0), std::invalid_argument);
  try {
    gradient_check<double>({&layer}, loss, kInput, kLabel, -1e-9);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("gradient_check: expected a step above 0, got -1e-09"),
              std::string::npos)
        << e.what();
  }
}

// Uniform in [-1, 1), reproducible: weights with both signs so that some ReLUs are off.
Tensor<double> random_tensor(const Shape& shape, unsigned seed) {
  Tensor<double> tensor(shape);
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (double& v : tensor) v = uniform(engine);
  return tensor;
}

TEST(GradientCheck, ChainFullyConnectedReLUFullyConnectedSoftMaxCrossEntropy) {
  FullyConnected<double> first(4, 5);
  ReLU<double> relu;
  FullyConnected<double> second(5, 3);
  SoftMax<double> softmax;
  first.set_weights(random_tensor({5, 5}, 1));
  second.set_weights(random_tensor({6, 3}, 2));
  const Tensor<double> input = random_tensor({3, 4}, 3);
  const Tensor<double> label({3, 3}, std::vector<double>{0, 0, 1, 1, 0, 0, 0, 1, 0});
  CrossEntropyLoss<double> loss;

  // The check is only meaningful away from ReLU's kink, and only if some units are off.
  const Tensor<double> hidden = first.forward(input);
  std::size_t off = 0;
  for (const double h : hidden) {
    ASSERT_GT(std::abs(h), 1e-3);
    off += h < 0 ? 1 : 0;
  }
  ASSERT_GT(off, 0u);
  ASSERT_LT(off, hidden.size());

  const GradientCheckResult result =
      gradient_check<double>({&first, &relu, &second, &softmax}, loss, input, label);
  ASSERT_EQ(result.entries.size(), 5u);
  EXPECT_EQ(result.entries[1].what, "layer 0 (FullyConnected) weights");
  EXPECT_EQ(result.entries[4].what, "layer 2 (FullyConnected) bias");
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-6) << entry.what;
  }
}

TEST(GradientCheckResult, WorstIsTheLargestEntry) {
  GradientCheckResult result;
  EXPECT_EQ(result.worst(), 0.0);
  result.entries = {{"input", 0.25}, {"layer 0 (X) weights", 0.5}, {"layer 0 (X) bias", 0.125}};
  EXPECT_EQ(result.worst(), 0.5);
}

}  // namespace
}  // namespace cnnkit
