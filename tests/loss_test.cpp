#include "cnnkit/loss.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"
#include "model_description_test_helpers.hpp"

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

// ---- reductions (sum, the lecture's, and mean over the batch) and the fused
// SoftmaxCrossEntropy loss from logits

TEST(LossReduction, CrossEntropyMeanIsTheSumOverTheBatchSize) {
  CrossEntropyLoss<double> sum;
  CrossEntropyLoss<double> mean(Reduction::kMean);
  // -ln 0.7 - ln 0.25 = 1.742969305058623 over a batch of 2.
  EXPECT_NEAR(sum.forward(kPrediction, kOneHot), 1.742969305058623, 1e-12);
  EXPECT_NEAR(mean.forward(kPrediction, kOneHot), 0.8714846525293115, 1e-12);
  expect_tensor_near(sum.backward(kOneHot),
                     Tensor<double>({2, 3}, std::vector<double>{0, -1 / 0.7, 0, 0, 0, -4}), 1e-12);
  expect_tensor_near(mean.backward(kOneHot),
                     Tensor<double>({2, 3}, std::vector<double>{0, -0.5 / 0.7, 0, 0, 0, -2}),
                     1e-12);
  EXPECT_EQ(sum.reduction(), Reduction::kSum);
  EXPECT_EQ(mean.reduction(), Reduction::kMean);
}

TEST(LossReduction, L2MeanDividesByTheBatchNotTheElements) {
  L2Loss<float> mean(Reduction::kMean);
  const Tensor<float> prediction({2, 1, 2}, std::vector<float>{0.5f, -1, 2, 0});
  const Tensor<float> label({2, 1, 2}, std::vector<float>{0, 1, 2, 3});
  // (0.25 + 4 + 0 + 9) / 2 samples; E = 2 (y - label) / 2.
  EXPECT_FLOAT_EQ(mean.forward(prediction, label), 6.625f);
  expect_tensor_near(mean.backward(label),
                     Tensor<float>({2, 1, 2}, std::vector<float>{0.5f, -2, 0, -3}), 0.0);
}

TEST(LossReduction, BatchSumUndoesTheMean) {
  const CrossEntropyLoss<double> sum;
  const CrossEntropyLoss<double> mean(Reduction::kMean);
  EXPECT_EQ(sum.batch_sum(3.0, 4), 3.0);
  EXPECT_EQ(mean.batch_sum(0.75, 4), 3.0);
}

TEST(LossReduction, NamesAndBadNames) {
  EXPECT_EQ(to_string(Reduction::kSum), "sum");
  EXPECT_EQ(to_string(Reduction::kMean), "mean");
  EXPECT_EQ(reduction_from_string("mean"), Reduction::kMean);
  expect_throw_with<std::invalid_argument>([] { reduction_from_string("avg", "loss L2Loss"); },
                                           {"loss L2Loss", "\"sum\" or \"mean\"", "\"avg\""});
  expect_throw_with<std::invalid_argument>([] { build_loss<float>("L2Loss", "Mean"); },
                                           {"L2Loss", "\"Mean\""});
}

// Logits whose softmax rows are (1/4, 3/4) and (2/3, 1/3); true classes 1 and 0.
const Tensor<double> kLogits({2, 2}, std::vector<double>{0, std::log(3.0), std::log(2.0), 0});
const Tensor<double> kTwoClassLabel({2, 2}, std::vector<double>{0, 1, 1, 0});

TEST(SoftmaxCrossEntropyLoss, WorkedValuesForSumAndMean) {
  SoftmaxCrossEntropyLoss<double> sum;
  // -ln(3/4) - ln(2/3) = ln 2; E = softmax - onehot.
  EXPECT_NEAR(sum.forward(kLogits, kTwoClassLabel), std::log(2.0), 1e-12);
  expect_tensor_near(sum.backward(kTwoClassLabel),
                     Tensor<double>({2, 2}, std::vector<double>{0.25, -0.25, -1.0 / 3, 1.0 / 3}),
                     1e-12);
  SoftmaxCrossEntropyLoss<double> mean(Reduction::kMean);
  EXPECT_NEAR(mean.forward(kLogits, kTwoClassLabel), std::log(2.0) / 2, 1e-12);
  expect_tensor_near(mean.backward(kTwoClassLabel),
                     Tensor<double>({2, 2}, std::vector<double>{0.125, -0.125, -1.0 / 6, 1.0 / 6}),
                     1e-12);
  EXPECT_EQ(sum.type(), "SoftmaxCrossEntropy");
}

TEST(SoftmaxCrossEntropyLoss, HugeLogitsStayFinite) {
  SoftmaxCrossEntropyLoss<float> loss;
  // exp(1000) overflows float; the log-sum-exp shift keeps it out. Loss = 1000 - 0 for row 0.
  const Tensor<float> logits({1, 2}, std::vector<float>{1000.0f, 0.0f});
  const Tensor<float> label({1, 2}, std::vector<float>{0, 1});
  EXPECT_FLOAT_EQ(loss.forward(logits, label), 1000.0f);
  expect_tensor_near(loss.backward(label), Tensor<float>({1, 2}, std::vector<float>{1, -1}), 0.0);
}

TEST(SoftmaxCrossEntropyLoss, GradientCheck) {
  const Tensor<double> logits({2, 3}, std::vector<double>{0.3, -1.2, 2.0, 0.5, 0.1, -0.4});
  for (const Reduction reduction : {Reduction::kSum, Reduction::kMean}) {
    SoftmaxCrossEntropyLoss<double> loss(reduction);
    EXPECT_LT(gradient_check<double>({}, loss, logits, kOneHot).worst(), 1e-7)
        << to_string(reduction);
  }
}

TEST(SoftmaxCrossEntropyLoss, PredictionIsTheSoftmaxOfTheLogits) {
  SoftmaxCrossEntropyLoss<double> loss;
  expect_tensor_near(loss.prediction_from(Tensor<double>(kLogits)),
                     Tensor<double>({2, 2}, std::vector<double>{0.25, 0.75, 2.0 / 3, 1.0 / 3}),
                     1e-15);
  // The other losses take probabilities already: their prediction is the output itself.
  CrossEntropyLoss<double> probabilities;
  expect_tensor_near(probabilities.prediction_from(Tensor<double>(kPrediction)), kPrediction, 0.0);
}

TEST(SoftmaxCrossEntropyLoss, BadInputs) {
  SoftmaxCrossEntropyLoss<double> loss;
  expect_throw_with<std::logic_error>([&] { loss.backward(kOneHot); },
                                      {"SoftmaxCrossEntropy", "forward"});
  expect_throw_with<std::invalid_argument>([&] { loss.forward(Tensor<double>({6}), kOneHot); },
                                           {"SoftmaxCrossEntropy", "[batch, categories]", "[6]"});
  expect_throw_with<std::invalid_argument>(
      [&] {
        loss.forward(kPrediction, Tensor<double>({3, 2}));
      },
      {"SoftmaxCrossEntropy", "[2, 3]", "[3, 2]"});
}

// ---- the description's "loss"

const std::string kLogitLayers = R"({"type": "Flatten"}, {"type": "FullyConnected", "outputs": 3})";

std::string with_loss(const std::string& layers, const std::string& loss) {
  std::string json = testing::with_layers(layers, "[4]");
  json.insert(json.size() - 1, R"(, "loss": )" + loss);
  return json;
}

TEST(LossDescription, StringAndObjectFormsRoundTrip) {
  const ModelDescription plain =
      parse_model_description(with_loss(kLogitLayers, R"("SoftmaxCrossEntropy")"));
  EXPECT_EQ(plain.loss, "SoftmaxCrossEntropy");
  EXPECT_EQ(plain.loss_reduction, "sum");
  EXPECT_NE(to_json(plain).find(R"("loss": "SoftmaxCrossEntropy")"), std::string::npos);
  const ModelDescription mean =
      parse_model_description(with_loss(kLogitLayers + R"(, {"type": "SoftMax"})",
                                        R"({"type": "CrossEntropyLoss", "reduction": "mean"})"));
  EXPECT_EQ(mean.loss, "CrossEntropyLoss");
  EXPECT_EQ(mean.loss_reduction, "mean");
  EXPECT_EQ(parse_model_description(to_json(mean)), mean);
  EXPECT_EQ(build_model<double>(mean).loss->reduction(), Reduction::kMean);
}

TEST(LossDescription, BadLossesNameTheProblem) {
  testing::expect_messages({
      {"unknown reduction",
       with_loss(kLogitLayers, R"({"type": "SoftmaxCrossEntropy", "reduction": "average"})"),
       "\"sum\" or \"mean\", got \"average\""},
      {"misspelt key", with_loss(kLogitLayers, R"({"type": "L2Loss", "reductoin": "mean"})"),
       "loss: unknown key 'reductoin' (known: type, reduction)"},
      {"no type", with_loss(kLogitLayers, R"({"reduction": "mean"})"),
       "loss: expected a key \"type\""},
      {"reduction not a string", with_loss(kLogitLayers, R"({"type": "L2Loss", "reduction": 1})"),
       "loss reduction: expected a string, got 1"},
      {"not a string or object", with_loss(kLogitLayers, "3"), "loss: expected a loss type"},
      {"unknown type", with_loss(kLogitLayers, R"("Hinge")"),
       "known: CrossEntropyLoss, L2Loss, SoftmaxCrossEntropy"},
      {"fused loss after SoftMax",
       with_loss(kLogitLayers + R"(, {"type": "SoftMax"})", R"("SoftmaxCrossEntropy")"),
       "expected a last layer other than SoftMax for SoftmaxCrossEntropy"},
  });
}

TEST(LossDescription, FusedModelPredictsProbabilitiesAndEvaluatesOnLogits) {
  set_seed(3);
  Model<double> model = build_model<double>(
      parse_model_description(with_loss(kLogitLayers, R"("SoftmaxCrossEntropy")")));
  const Tensor<double> input({2, 4}, std::vector<double>{1, -2, 0.5, 3, -1, 0, 2, 0.25});
  const Tensor<double> logits = model.output(input);
  const Tensor<double> probabilities = model.forward(input);
  ASSERT_EQ(probabilities.shape(), (Shape{2, 3}));
  for (std::size_t n = 0; n < 2; ++n) {
    double denominator = 0;
    for (std::size_t k = 0; k < 3; ++k) denominator += std::exp(logits(n, k));
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_NEAR(probabilities(n, k), std::exp(logits(n, k)) / denominator, 1e-15);
    }
  }
  const Tensor<double> one_sample =
      model.predict(Tensor<double>({4}, std::vector<double>{1, -2, 0.5, 3}));
  EXPECT_NEAR(one_sample[0], probabilities(0, 0), 1e-15);
}

}  // namespace
}  // namespace cnnkit
