#include "cnnkit/loss.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::expect_tensor_near;
using testing::expect_throw_with;

const Tensor<double> kPrediction({2, 3}, std::vector<double>{0.2, 0.7, 0.1, 0.5, 0.25, 0.25});
const Tensor<double> kOneHot({2, 3}, std::vector<double>{0, 1, 0, 0, 0, 1});

TEST(CrossEntropyLoss, WorkedValue) {
  CrossEntropyLoss<double> loss;
  // -ln 0.7 - ln 0.25 = 0.356674943938732 + 1.386294361119891.
  EXPECT_NEAR(loss.forward(kPrediction, kOneHot), 1.742969305058623, 1e-12);
  EXPECT_EQ(loss.type(), "CrossEntropyLoss");
}

TEST(CrossEntropyLoss, BackwardIsMinusLabelOverPrediction) {
  CrossEntropyLoss<double> loss;
  loss.forward(kPrediction, kOneHot);
  expect_tensor_near(loss.backward(kOneHot),
                     Tensor<double>({2, 3}, std::vector<double>{0, -1 / 0.7, 0, 0, 0, -4}), 1e-12);
}

TEST(CrossEntropyLoss, ZeroPredictionForTheTrueClassStaysFinite) {
  CrossEntropyLoss<float> loss;
  const Tensor<float> prediction({1, 2}, std::vector<float>{1.0f, 0.0f});
  const Tensor<float> label({1, 2}, std::vector<float>{0.0f, 1.0f});
  const float eps = std::numeric_limits<float>::epsilon();
  // -ln(eps) = 23 ln 2 = 15.942385 for float's eps 2^-23.
  EXPECT_NEAR(loss.forward(prediction, label), 23 * std::log(2.0), 1e-5);
  const Tensor<float> error = loss.backward(label);
  EXPECT_EQ(error[0], 0.0f);
  EXPECT_FLOAT_EQ(error[1], -1.0f / eps);
}

TEST(CrossEntropyLoss, GradientCheck) {
  CrossEntropyLoss<double> loss;
  EXPECT_LT(gradient_check<double>({}, loss, kPrediction, kOneHot).worst(), 1e-7);
}

TEST(CrossEntropyLoss, BadInputs) {
  CrossEntropyLoss<double> loss;
  expect_throw_with<std::logic_error>([&] { loss.backward(kOneHot); },
                                      {"CrossEntropyLoss", "forward"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        loss.forward(kPrediction, Tensor<double>({3, 2}));
      },
      {"CrossEntropyLoss", "[2, 3]", "[3, 2]"});
  loss.forward(kPrediction, kOneHot);
  expect_throw_with<std::invalid_argument>(
      [&] {
        loss.backward(Tensor<double>({2, 4}));
      },
      {"CrossEntropyLoss", "[2, 3]", "[2, 4]"});
}

TEST(L2Loss, WorkedValues) {
  L2Loss<double> loss;
  const Tensor<double> prediction({1, 3}, std::vector<double>{1, 2, 3});
  const Tensor<double> label({1, 3}, std::vector<double>{0, 2, 5});
  // 1^2 + 0^2 + (-2)^2.
  EXPECT_EQ(loss.forward(prediction, label), 5.0);
  expect_tensor_near(loss.backward(label), Tensor<double>({1, 3}, std::vector<double>{2, 0, -4}),
                     0.0);
  EXPECT_EQ(loss.type(), "L2Loss");
}

TEST(L2Loss, AnyShapeAndFloat) {
  L2Loss<float> loss;
  const Tensor<float> prediction({2, 1, 2}, std::vector<float>{0.5f, -1, 2, 0});
  const Tensor<float> label({2, 1, 2}, std::vector<float>{0, 1, 2, 3});
  // 0.25 + 4 + 0 + 9.
  EXPECT_FLOAT_EQ(loss.forward(prediction, label), 13.25f);
  expect_tensor_near(loss.backward(label),
                     Tensor<float>({2, 1, 2}, std::vector<float>{1, -4, 0, -6}), 0.0);
}

TEST(L2Loss, BadInputs) {
  L2Loss<double> loss;
  expect_throw_with<std::logic_error>([&] { loss.backward(kOneHot); }, {"L2Loss", "forward"});
  expect_throw_with<std::invalid_argument>([&] { loss.forward(kPrediction, Tensor<double>({6})); },
                                           {"L2Loss", "[2, 3]", "[6]"});
  loss.forward(kPrediction, kOneHot);
  expect_throw_with<std::invalid_argument>(
      [&] {
        loss.backward(Tensor<double>({3, 2}));
      },
      {"L2Loss", "[2, 3]", "[3, 2]"});
}

}  // namespace
}  // namespace cnnkit
