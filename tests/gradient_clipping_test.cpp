// Gradient clipping by global norm (gradient_clipping.hpp): a worked example, the hook on a graph
// (frozen parameters left alone) and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/gradient_clipping.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/optimizers.hpp"

namespace cnnkit {
namespace {

// Gradients (3, 0) and (0, 4) together: norm sqrt(9 + 16) = 5.
struct TwoParameters {
  Parameter<double> a{"weights", Tensor<double>({2})};
  Parameter<double> b{"bias", Tensor<double>({1, 2})};
  TwoParameters() {
    a.gradient = Tensor<double>({2}, {3.0, 0.0});
    b.gradient = Tensor<double>({1, 2}, {0.0, 4.0});
  }
  std::vector<Parameter<double>*> list() { return {&a, &b}; }
};

TEST(GradientClipping, WorkedExample) {
  TwoParameters p;
  EXPECT_EQ(global_gradient_norm(p.list()), 5.0);
  // Norm 5 above 1: every gradient times 1 / (5 + 1e-6) (PyTorch's coefficient), so the new
  // norm is 1 up to that 1e-6: (0.6, 0) and (0, 0.8).
  EXPECT_EQ(clip_gradients_by_global_norm(p.list(), 1.0), 5.0);
  const double coefficient = 1.0 / (5.0 + 1e-6);
  EXPECT_EQ(p.a.gradient[0], 3.0 * coefficient);
  EXPECT_EQ(p.a.gradient[1], 0.0);
  EXPECT_EQ(p.b.gradient[1], 4.0 * coefficient);
  EXPECT_NEAR(p.a.gradient[0], 0.6, 1e-6);
  EXPECT_NEAR(p.b.gradient[1], 0.8, 1e-6);
  EXPECT_NEAR(global_gradient_norm(p.list()), 1.0, 1e-6);
}

TEST(GradientClipping, BelowTheLimitNothingChanges) {
  TwoParameters p;
  EXPECT_EQ(clip_gradients_by_global_norm(p.list(), 5.1), 5.0);
  EXPECT_EQ(p.a.gradient, Tensor<double>({2}, {3.0, 0.0}));
  EXPECT_EQ(p.b.gradient, Tensor<double>({1, 2}, {0.0, 4.0}));
}

TEST(GradientClipping, FloatGradientsSumInDouble) {
  // 2^24 + 1 ones of 1: in float the sum of squares would stop at 2^24.
  Parameter<float> p{"weights", Tensor<float>({(1u << 24) + 1})};
  p.gradient.fill(1.0f);
  EXPECT_EQ(global_gradient_norm<float>({&p}), std::sqrt(double((1u << 24) + 1)));
}

TEST(GradientClipping, HookClipsTheUpdatedParametersOfTheGraph) {
  Graph<double> graph;
  graph.append(std::make_unique<FullyConnected<double>>(1, 1));  // weights and bias: 1 value each
  graph.append(std::make_unique<FullyConnected<double>>(1, 1));
  for (Layer<double>* layer : graph.layers()) layer->set_optimizer(Sgd<double>(0.1));
  graph.build();
  ASSERT_EQ(graph.parameters().size(), 4u);
  for (Parameter<double>* parameter : graph.parameters()) parameter->gradient.fill(0.0);
  graph.parameters()[0]->gradient[0] = 3.0;
  graph.parameters()[2]->gradient[0] = 4.0;
  // Frozen: neither counted in the norm nor scaled.
  graph.parameters()[3]->frozen = true;
  graph.parameters()[3]->gradient[0] = 100.0;
  gradient_clipping_hook<double>(2.5)(graph);
  EXPECT_EQ(graph.parameters()[0]->gradient[0], 3.0 * (2.5 / (5.0 + 1e-6)));
  EXPECT_EQ(graph.parameters()[2]->gradient[0], 4.0 * (2.5 / (5.0 + 1e-6)));
  EXPECT_EQ(graph.parameters()[3]->gradient[0], 100.0);
}

TEST(GradientClippingBadInput, MaxNormMustBeFiniteAndPositive) {
  TwoParameters p;
  for (const double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity()}) {
    EXPECT_THROW(clip_gradients_by_global_norm(p.list(), bad), std::invalid_argument) << bad;
    EXPECT_THROW(gradient_clipping_hook<double>(bad), std::invalid_argument) << bad;
  }
  try {
    gradient_clipping_hook<float>(-1.0);
    ADD_FAILURE() << "expected an exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "clip_norm: expected a finite value > 0, got -1");
  }
  EXPECT_EQ(p.a.gradient[0], 3.0);  // untouched by the rejected calls
}

}  // namespace
}  // namespace cnnkit
