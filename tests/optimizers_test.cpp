// Optimizers: hand-computed updates, the lecture's worked Adam/momentum numbers, argument checks,
// state round trips and clone independence.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "cnnkit/optimizers.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::message_of;

template <typename T>
Tensor<T> scalar(T value) {
  return Tensor<T>({1}, value);
}

// ---- Sgd

TEST(OptimizersSgd, HandComputedStep) {
  // w - eta g with eta = 0.5: 1 - 0.5*2 = 0, -2 - 0.5*4 = -4, 3 - 0.5*(-6) = 6.
  Sgd<double> sgd(0.5);
  const Tensor<double> weights({3}, {1.0, -2.0, 3.0});
  const Tensor<double> gradient({3}, {2.0, 4.0, -6.0});
  const Tensor<double> updated = sgd.calculate_update(weights, gradient);
  EXPECT_EQ(updated, Tensor<double>({3}, {0.0, -4.0, 6.0}));
  // calculate_update leaves its arguments alone.
  EXPECT_EQ(weights, Tensor<double>({3}, {1.0, -2.0, 3.0}));
  // A second step from there: 0 - 0.5*1 = -0.5, -4 - 0.5*0 = -4, 6 - 0.5*2 = 5.
  const Tensor<double> again = sgd.calculate_update(updated, Tensor<double>({3}, {1.0, 0.0, 2.0}));
  EXPECT_EQ(again, Tensor<double>({3}, {-0.5, -4.0, 5.0}));
}

TEST(OptimizersSgd, UpdateWritesInPlaceFloat) {
  Sgd<float> sgd(0.25f);
  Tensor<float> weights({2, 2}, {1.0f, 2.0f, 3.0f, 4.0f});
  sgd.update(weights, Tensor<float>({2, 2}, {4.0f, -4.0f, 0.0f, 8.0f}));
  EXPECT_EQ(weights, Tensor<float>({2, 2}, {0.0f, 3.0f, 3.0f, 2.0f}));
  EXPECT_EQ(sgd.name(), "Sgd");
  EXPECT_FLOAT_EQ(sgd.learning_rate(), 0.25f);
}

TEST(OptimizersSgd, RejectsBadLearningRate) {
  EXPECT_THROW(Sgd<float>(0.0f), std::invalid_argument);
  EXPECT_THROW(Sgd<float>(-1.0f), std::invalid_argument);
  EXPECT_THROW(Sgd<double>(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW(Sgd<double>(std::numeric_limits<double>::infinity()), std::invalid_argument);
  const std::string message = message_of<std::invalid_argument>([] { Sgd<double>(-0.5); });
  EXPECT_NE(message.find("Sgd: expected a finite learning rate > 0, got -0.5"), std::string::npos)
      << message;
}

TEST(OptimizersSgd, ShapeMismatchNamesOptimizerAndShapes) {
  Sgd<float> sgd(0.1f);
  Tensor<float> weights({2, 3});
  const std::string message = message_of<std::invalid_argument>([&] {
    sgd.update(weights, Tensor<float>({3, 2}));
  });
  EXPECT_NE(message.find("Sgd"), std::string::npos) << message;
  EXPECT_NE(message.find("[2, 3]"), std::string::npos) << message;
  EXPECT_NE(message.find("[3, 2]"), std::string::npos) << message;
  EXPECT_THROW(sgd.calculate_update(weights, Tensor<float>({6})), std::invalid_argument);
}

TEST(OptimizersSgd, IsStateless) {
  Sgd<double> sgd(0.1);
  EXPECT_TRUE(sgd.state().empty());
  EXPECT_NO_THROW(sgd.set_state({}));
  const std::string message = message_of<std::invalid_argument>([&] {
    sgd.set_state({{"v", scalar(1.0)}});
  });
  EXPECT_NE(message.find("Sgd"), std::string::npos) << message;
  EXPECT_NE(message.find("v"), std::string::npos) << message;
}

// ---- SgdWithMomentum

TEST(OptimizersMomentum, LectureWorkedValues) {
  // eta = 1, mu = 0.9 from w = 1: v = -1, w = 0; then v = 0.9*(-1) - 1 = -1.9, w = -1.9.
  SgdWithMomentum<double> momentum(1.0, 0.9);
  const Tensor<double> first = momentum.calculate_update(scalar(1.0), scalar(1.0));
  EXPECT_NEAR(first[0], 0.0, 1e-15);
  const Tensor<double> second = momentum.calculate_update(first, scalar(1.0));
  EXPECT_NEAR(second[0], -1.9, 1e-15);
}

TEST(OptimizersMomentum, HandComputedVectorFloat) {
  // eta = 0.1, mu = 0.5, w = [1, 2]: g = [1, -1] gives v = [-0.1, 0.1], w = [0.9, 2.1];
  // g = [0, 0] then gives v = [-0.05, 0.05], w = [0.85, 2.15].
  SgdWithMomentum<float> momentum(0.1f, 0.5f);
  Tensor<float> weights({2}, {1.0f, 2.0f});
  momentum.update(weights, Tensor<float>({2}, {1.0f, -1.0f}));
  EXPECT_NEAR(weights[0], 0.9f, 1e-6f);
  EXPECT_NEAR(weights[1], 2.1f, 1e-6f);
  momentum.update(weights, Tensor<float>({2}, {0.0f, 0.0f}));
  EXPECT_NEAR(weights[0], 0.85f, 1e-6f);
  EXPECT_NEAR(weights[1], 2.15f, 1e-6f);
  EXPECT_NEAR(momentum.state().at("v")[0], -0.05f, 1e-7f);
}

TEST(OptimizersMomentum, RejectsBadArguments) {
  EXPECT_THROW(SgdWithMomentum<float>(0.0f, 0.9f), std::invalid_argument);
  EXPECT_THROW(SgdWithMomentum<float>(0.1f, 1.0f), std::invalid_argument);
  EXPECT_THROW(SgdWithMomentum<float>(0.1f, -0.1f), std::invalid_argument);
  EXPECT_NO_THROW(SgdWithMomentum<float>(0.1f, 0.0f));
  const std::string message =
      message_of<std::invalid_argument>([] { SgdWithMomentum<double>(0.1, 1.5); });
  EXPECT_NE(message.find("SgdWithMomentum: expected momentum in [0, 1), got 1.5"),
            std::string::npos)
      << message;
}

TEST(OptimizersMomentum, StateRoundTripContinuesTheSameWay) {
  SgdWithMomentum<double> original(1.0, 0.9);
  Tensor<double> weights = scalar(1.0);
  original.update(weights, scalar(1.0));
  const auto state = original.state();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_NEAR(state.at("v")[0], -1.0, 1e-15);

  SgdWithMomentum<double> restored(1.0, 0.9);
  restored.set_state(state);
  Tensor<double> restored_weights = weights;
  original.update(weights, scalar(1.0));
  restored.update(restored_weights, scalar(1.0));
  EXPECT_NEAR(restored_weights[0], -1.9, 1e-15);
  EXPECT_EQ(restored_weights, weights);

  EXPECT_THROW(restored.set_state({}), std::invalid_argument);
  EXPECT_THROW(restored.set_state({{"v", scalar(0.0)}, {"r", scalar(0.0)}}), std::invalid_argument);
  EXPECT_THROW(restored.set_state({{"velocity", scalar(0.0)}}), std::invalid_argument);
}

TEST(OptimizersMomentum, CloneCopiesStateIndependently) {
  SgdWithMomentum<double> original(1.0, 0.9);
  Tensor<double> weights = scalar(1.0);
  original.update(weights, scalar(1.0));  // v = -1
  const std::unique_ptr<Optimizer<double>> copy = original.clone();
  EXPECT_EQ(copy->name(), "SgdWithMomentum");
  // The copy starts from v = -1: 0 + (0.9*(-1) - 1) = -1.9.
  EXPECT_NEAR(copy->calculate_update(weights, scalar(1.0))[0], -1.9, 1e-15);
  // ... and its steps do not move the original's velocity.
  EXPECT_NEAR(original.state().at("v")[0], -1.0, 1e-15);
  EXPECT_NEAR(copy->state().at("v")[0], -1.9, 1e-15);
}

TEST(OptimizersMomentum, RejectsWeightsOfAnotherShapeOnceItHasState) {
  SgdWithMomentum<float> momentum(0.1f, 0.9f);
  Tensor<float> weights({3});
  momentum.update(weights, Tensor<float>({3}, 1.0f));
  Tensor<float> other({4});
  const std::string message =
      message_of<std::invalid_argument>([&] { momentum.update(other, Tensor<float>({4})); });
  EXPECT_NE(message.find("SgdWithMomentum"), std::string::npos) << message;
  EXPECT_NE(message.find("[4]"), std::string::npos) << message;
}

// ---- Adam

TEST(OptimizersAdam, LectureWorkedValues) {
  // Adam(eta 1, mu 0.01, rho 0.02, eps 1e-8) from w = 1:
  // k = 1, g = 1: v = 0.99, r = 0.98, v^ = r^ = 1, w = 1 - 1/(1 + eps) = 1e-8 (the "0").
  // k = 2, g = 0.5: v = 0.5049, r = 0.2646, v^ = 0.5049/(1 - 0.01^2), r^ = 0.2646/(1 - 0.02^2),
  // w = w1 - v^/(sqrt(r^) + eps) = -0.9814473195614205 (the worked value; recomputed in
  // Python doubles).
  Adam<double> adam(1.0, 0.01, 0.02);
  const Tensor<double> first = adam.calculate_update(scalar(1.0), scalar(1.0));
  EXPECT_NEAR(first[0], 0.0, 1e-7);
  EXPECT_NEAR(first[0], 9.999999828202988e-09, 1e-20);
  const Tensor<double> second = adam.calculate_update(first, scalar(0.5));
  EXPECT_NEAR(second[0], -0.9814473195614205, 1e-14);
  EXPECT_EQ(adam.step(), 2u);
}

TEST(OptimizersAdam, LectureWorkedValuesFloat) {
  Adam<float> adam(1.0f, 0.01f, 0.02f);
  const Tensor<float> first = adam.calculate_update(scalar(1.0f), scalar(1.0f));
  EXPECT_NEAR(first[0], 0.0f, 1e-6f);
  const Tensor<float> second = adam.calculate_update(first, scalar(0.5f));
  EXPECT_NEAR(second[0], -0.98144732f, 1e-6f);
}

TEST(OptimizersAdam, EpsilonSitsInTheDenominatorOnly) {
  // A large eps makes its place visible. eta 0.1, eps 0.5, g = -1 from w = 0 at k = 1:
  // v^ = -1, r^ = 1, w = 0 - 0.1 * (-1)/(1 + 0.5) = 0.2/3.
  Adam<double> adam(0.1, 0.9, 0.999, 0.5);
  const Tensor<double> updated = adam.calculate_update(scalar(0.0), scalar(-1.0));
  EXPECT_NEAR(updated[0], 0.2 / 3.0, 1e-15);
}

TEST(OptimizersAdam, ZeroGradientLeavesWeightsAlone) {
  // The slide's (v^ + eps) numerator would move w by eta here on every step.
  Adam<double> adam(0.1, 0.9, 0.999);
  Tensor<double> w = scalar(2.0);
  for (int step = 0; step < 5; ++step) w = adam.calculate_update(w, scalar(0.0));
  EXPECT_EQ(w[0], 2.0);
}

TEST(OptimizersAdam, StepCountsUpdatesOfItsTensor) {
  // The bias correction's exponent advances once per update, however large the tensor.
  Adam<float> adam(1e-3f, 0.9f, 0.999f);
  Tensor<float> weights({4, 5});
  for (int i = 0; i < 7; ++i) adam.update(weights, Tensor<float>({4, 5}, 0.5f));
  EXPECT_EQ(adam.step(), 7u);
  EXPECT_FLOAT_EQ(adam.state().at("k")[0], 7.0f);
  // A constant gradient: v^ = g exactly and r^ = g^2, so every step moves w by eta (g+eps)/(g+eps)
  // = eta: 7 steps of 1e-3 from 0.
  for (const float w : weights) EXPECT_NEAR(w, -7e-3f, 1e-6f);
}

TEST(OptimizersAdam, RejectsBadArguments) {
  EXPECT_THROW(Adam<double>(0.0, 0.9, 0.999), std::invalid_argument);
  EXPECT_THROW(Adam<double>(1e-3, 1.0, 0.999), std::invalid_argument);
  EXPECT_THROW(Adam<double>(1e-3, -0.1, 0.999), std::invalid_argument);
  EXPECT_THROW(Adam<double>(1e-3, 0.9, 1.0), std::invalid_argument);
  EXPECT_THROW(Adam<double>(1e-3, 0.9, 0.999, -1e-8), std::invalid_argument);
  EXPECT_NO_THROW(Adam<double>(1e-3, 0.0, 0.0, 1e-12));
  const std::string message =
      message_of<std::invalid_argument>([] { Adam<float>(1e-3f, 0.9f, 2.0f); });
  EXPECT_NE(message.find("Adam: expected rho in [0, 1), got 2"), std::string::npos) << message;
  // eps = 0 cannot work: a weight whose gradients were all 0 so far would get 0 / 0.
  const std::string zero_eps =
      message_of<std::invalid_argument>([] { Adam<double>(1e-3, 0.9, 0.999, 0.0); });
  EXPECT_NE(zero_eps.find("Adam: expected a finite epsilon > 0, got 0"), std::string::npos)
      << zero_eps;
  EXPECT_THROW(Adam<float>(1e-3f, 0.9f, 0.999f, static_cast<float>(1e-300)),
               std::invalid_argument);  // rounds to 0
}

TEST(OptimizersAdam, StateRoundTripContinuesTheSameWay) {
  Adam<double> original(1.0, 0.01, 0.02);
  Tensor<double> weights = original.calculate_update(scalar(1.0), scalar(1.0));
  const auto state = original.state();
  ASSERT_EQ(state.size(), 3u);
  EXPECT_NEAR(state.at("v")[0], 0.99, 1e-15);
  EXPECT_NEAR(state.at("r")[0], 0.98, 1e-15);
  EXPECT_EQ(state.at("k"), scalar(1.0));

  Adam<double> restored(1.0, 0.01, 0.02);
  restored.set_state(state);
  EXPECT_EQ(restored.step(), 1u);
  EXPECT_NEAR(restored.calculate_update(weights, scalar(0.5))[0], -0.9814473195614205, 1e-14);

  // A fresh optimizer's state (k = 0, no moments yet) round-trips too.
  Adam<double> fresh(1.0, 0.01, 0.02);
  EXPECT_NO_THROW(fresh.set_state(Adam<double>(0.5, 0.5, 0.5).state()));
  EXPECT_EQ(fresh.step(), 0u);
}

TEST(OptimizersAdam, SetStateValidates) {
  Adam<float> adam(1e-3f, 0.9f, 0.999f);
  const Tensor<float> moment({2}, 0.1f);
  const auto state = [&](Tensor<float> v, Tensor<float> r, Tensor<float> k) {
    return std::map<std::string, Tensor<float>>{{"v", v}, {"r", r}, {"k", k}};
  };
  EXPECT_NO_THROW(adam.set_state(state(moment, moment, scalar(3.0f))));
  EXPECT_EQ(adam.step(), 3u);
  // Missing or extra keys.
  EXPECT_THROW(adam.set_state({{"v", moment}, {"r", moment}}), std::invalid_argument);
  auto extra = state(moment, moment, scalar(1.0f));
  extra["m"] = moment;
  EXPECT_THROW(adam.set_state(extra), std::invalid_argument);
  // k must be one whole number >= 0.
  EXPECT_THROW(adam.set_state(state(moment, moment, scalar(1.5f))), std::invalid_argument);
  EXPECT_THROW(adam.set_state(state(moment, moment, scalar(-1.0f))), std::invalid_argument);
  EXPECT_THROW(adam.set_state(state(moment, moment, Tensor<float>({2}, 1.0f))),
               std::invalid_argument);
  // v and r of one shape; moments exactly when k > 0.
  EXPECT_THROW(adam.set_state(state(moment, Tensor<float>({3}), scalar(1.0f))),
               std::invalid_argument);
  EXPECT_THROW(adam.set_state(state(moment, moment, scalar(0.0f))), std::invalid_argument);
  EXPECT_THROW(adam.set_state(state(Tensor<float>(), Tensor<float>(), scalar(2.0f))),
               std::invalid_argument);
  // A rejected state leaves the optimizer as it was.
  EXPECT_EQ(adam.step(), 3u);
}

TEST(OptimizersAdam, CloneCopiesStateIndependently) {
  Adam<double> original(1.0, 0.01, 0.02);
  const Tensor<double> first = original.calculate_update(scalar(1.0), scalar(1.0));
  const std::unique_ptr<Optimizer<double>> copy = original.clone();
  EXPECT_EQ(copy->name(), "Adam");
  // Both continue from k = 1 to the same second step.
  EXPECT_NEAR(copy->calculate_update(first, scalar(0.5))[0], -0.9814473195614205, 1e-14);
  EXPECT_EQ(original.step(), 1u);
  EXPECT_NEAR(original.calculate_update(first, scalar(0.5))[0], -0.9814473195614205, 1e-14);
  // Further steps of the copy leave the original behind.
  copy->calculate_update(first, scalar(0.5));
  EXPECT_EQ(copy->state().at("k")[0], 3.0);
  EXPECT_EQ(original.step(), 2u);
}

TEST(OptimizersAdam, ShapeMismatchNamesAdam) {
  Adam<double> adam(1e-3, 0.9, 0.999);
  Tensor<double> weights({2, 2});
  const std::string message =
      message_of<std::invalid_argument>([&] { adam.update(weights, Tensor<double>({2})); });
  EXPECT_NE(message.find("Adam"), std::string::npos) << message;
  EXPECT_NE(message.find("[2, 2]"), std::string::npos) << message;
  adam.update(weights, Tensor<double>({2, 2}));
  Tensor<double> other({5});
  EXPECT_THROW(adam.update(other, Tensor<double>({5})), std::invalid_argument);
}

}  // namespace
}  // namespace cnnkit
