// Weight decay: one L2 step and one AdamW step worked by hand, the parameter kinds that
// decay_bias_and_norm leaves out (in the L2 hook and in a model built with AdamW), bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "cnnkit/graph.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/weight_decay.hpp"

namespace cnnkit {
namespace {

TEST(WeightDecay, OneL2StepByHand) {
  // g' = g + wd w = (0.5 + 0.1, 0.5 - 0.2) = (0.6, 0.3); w' = w - 0.1 g' = (0.94, -2.03).
  Parameter<double> parameter("weights", Tensor<double>({2}, {1.0, -2.0}));
  parameter.gradient = Tensor<double>({2}, {0.5, 0.5});
  parameter.set_optimizer(Sgd<double>(0.1));
  add_l2_penalty(parameter, 0.1);
  EXPECT_NEAR(parameter.gradient[0], 0.6, 1e-15);
  EXPECT_NEAR(parameter.gradient[1], 0.3, 1e-15);
  parameter.apply_update();
  EXPECT_NEAR(parameter.value[0], 0.94, 1e-15);
  EXPECT_NEAR(parameter.value[1], -2.03, 1e-15);
}

TEST(WeightDecay, OneAdamWStepByHand) {
  // lr 0.1 at scale 0.5 (eta = 0.05), wd 0.2: w = w (1 - 0.05 * 0.2) = 0.99 w = (0.99, -1.98).
  // Adam's first step: v^ = g, r^ = g^2, so w -= eta g / (|g| + eps):
  //   0.99 - 0.05 * 0.5 / (0.5 + 1e-8)    = 0.94000000100000...
  //   -1.98 + 0.05 * 0.1 / (0.1 + 1e-8)   = -1.93000000499999...
  AdamW<double> optimizer(0.1, 0.9, 0.999, 1e-8, 0.2);
  optimizer.set_learning_rate_scale(0.5);
  Tensor<double> weights({2}, {1.0, -2.0});
  optimizer.update(weights, Tensor<double>({2}, {0.5, -0.1}));
  EXPECT_NEAR(weights[0], 0.99 - 0.05 * 0.5 / (0.5 + 1e-8), 1e-15);
  EXPECT_NEAR(weights[1], -1.98 + 0.05 * 0.1 / (0.1 + 1e-8), 1e-15);
  EXPECT_NEAR(weights[0], 0.940000001, 1e-12);
  EXPECT_NEAR(weights[1], -1.930000005, 1e-12);
  EXPECT_EQ(optimizer.name(), "AdamW");
  EXPECT_EQ(optimizer.step(), 1u);
}

TEST(WeightDecay, AdamWWithoutDecayIsAdam) {
  AdamW<float> decoupled(1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f);
  Adam<float> adam(1e-2f, 0.9f, 0.999f, 1e-8f);
  Tensor<float> a({3}, {0.5f, -1.0f, 2.0f});
  Tensor<float> b = a;
  for (int step = 0; step < 3; ++step) {
    const Tensor<float> gradient({3}, {0.1f * float(step + 1), -0.3f, 0.7f});
    decoupled.update(a, gradient);
    adam.update(b, gradient);
  }
  EXPECT_EQ(a, b);
}

TEST(WeightDecay, ParameterKinds) {
  FullyConnected<float> fully_connected(3, 2);
  BatchNorm<float> batch_norm(4);
  EXPECT_EQ(fully_connected.parameters()[0]->kind, ParameterKind::kWeights);
  EXPECT_EQ(fully_connected.parameters()[1]->kind, ParameterKind::kBias);
  for (const Parameter<float>* parameter : batch_norm.parameters()) {
    EXPECT_EQ(parameter->kind, ParameterKind::kNormalization) << parameter->name;
  }
}

TEST(WeightDecay, L2HookCanLeaveBiasAndNormOut) {
  for (const bool decay_bias_and_norm : {true, false}) {
    Graph<double> graph;
    graph.append(std::make_unique<FullyConnected<double>>(2, 3));
    graph.append(std::make_unique<BatchNorm<double>>(3));
    for (Layer<double>* layer : graph.layers()) layer->set_optimizer(Sgd<double>(0.1));
    graph.build();
    for (Parameter<double>* parameter : graph.parameters()) {
      parameter->value.fill(2.0);
      parameter->gradient.fill(1.0);
    }
    l2_penalty_hook<double>(0.25, decay_bias_and_norm)(graph);
    for (const Parameter<double>* parameter : graph.parameters()) {
      const bool decayed = decay_bias_and_norm || parameter->kind == ParameterKind::kWeights;
      EXPECT_EQ(parameter->gradient[0], decayed ? 1.5 : 1.0)
          << parameter->name << " with decay_bias_and_norm " << decay_bias_and_norm;
    }
  }
}

TEST(WeightDecay, L2HookSkipsFrozenParameters) {
  Graph<double> graph;
  graph.append(std::make_unique<FullyConnected<double>>(2, 3));
  graph.layers()[0]->set_optimizer(Sgd<double>(0.1));
  graph.build();
  Parameter<double>& weights = *graph.parameters()[0];
  weights.frozen = true;
  weights.gradient.fill(1.0);
  l2_penalty_hook<double>(0.5)(graph);
  EXPECT_EQ(weights.gradient[0], 1.0);
}

TEST(WeightDecay, ModelWithAdamWGivesBiasAndNormAnOptimizerWithoutDecay) {
  ModelDescription description;
  description.name = "t";
  description.input_shape = {4};
  LayerSpec fully_connected;
  fully_connected.type = "FullyConnected";
  fully_connected.outputs = 3;
  LayerSpec batch_norm;
  batch_norm.type = "BatchNorm";
  LayerSpec softmax;
  softmax.type = "SoftMax";
  description.layers = {fully_connected, batch_norm, softmax};
  description.optimizer.type = "AdamW";
  description.optimizer.weight_decay = 1e-4;
  for (const bool decay_bias_and_norm : {true, false}) {
    description.optimizer.decay_bias_and_norm = decay_bias_and_norm;
    const Model<float> model = build_model<float>(description);
    ASSERT_EQ(model.graph.parameters().size(), 4u);
    for (const Parameter<float>* parameter : model.graph.parameters()) {
      const auto* adamw = dynamic_cast<const AdamW<float>*>(parameter->optimizer.get());
      ASSERT_NE(adamw, nullptr) << parameter->name;
      const bool decayed = decay_bias_and_norm || parameter->kind == ParameterKind::kWeights;
      EXPECT_EQ(adamw->weight_decay(), decayed ? 1e-4f : 0.0f) << parameter->name;
    }
  }
}

TEST(WeightDecayBadInput, NegativeOrNonFiniteIsRejected) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (const float bad : {-1e-4f, nan, inf}) {
    EXPECT_THROW(AdamW<float>(1e-3f, 0.9f, 0.999f, 1e-8f, bad), std::invalid_argument) << bad;
    EXPECT_THROW(l2_penalty_hook<float>(bad), std::invalid_argument) << bad;
  }
  try {
    l2_penalty_hook<double>(-0.5);
    ADD_FAILURE() << "expected an exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "weight_decay: expected a finite value >= 0, got -0.5");
  }
  try {
    AdamW<double>(1e-3, 0.9, 0.999, 1e-8, -2.0);
    ADD_FAILURE() << "expected an exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "AdamW: expected a finite weight_decay >= 0, got -2");
  }
}

}  // namespace
}  // namespace cnnkit
