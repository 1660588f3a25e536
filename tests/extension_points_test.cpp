// The lecture's extension points: an optimizer that writes only calculate_update and clone, and a
// layer that writes only forward and backward (plus its weights), train in a NeuralNetwork and in
// a model, and the user layer passes check_layer.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/check_layer.hpp"
#include "cnnkit/data/builtin.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/neural_network.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::expect_bitwise_equal;
using testing::message_of;

// The lecture's SGD as a user writes it: w - eta * g, in a new tensor.
template <typename T>
class LectureSgd : public Optimizer<T> {
 public:
  explicit LectureSgd(T learning_rate) : learning_rate_(learning_rate) {}
  Tensor<T> calculate_update(const Tensor<T>& weights, const Tensor<T>& gradient) override {
    const T eta = learning_rate_ * this->learning_rate_scale();
    Tensor<T> updated = weights;
    for (std::size_t i = 0; i < updated.size(); ++i) updated[i] -= eta * gradient[i];
    return updated;
  }
  std::unique_ptr<Optimizer<T>> clone() const override {
    return std::make_unique<LectureSgd>(*this);
  }

 private:
  T learning_rate_;
};

// y = w * x + b per feature, for input (batch, features): a trainable layer written with the
// lecture's methods only (no type(), no output_shape(), no buffer recycling).
class FeatureScale : public Layer<double> {
 public:
  // What backward() gets wrong, to see check_layer fail.
  enum class Bug { kNone, kAddsToGradient, kDoublesInputError, kForgetsLastOutput };

  explicit FeatureScale(std::size_t features, Bug bug = Bug::kNone)
      : bug_(bug),
        weights_("weights", Tensor<double>({1, features}, 1.0)),
        bias_("bias", Tensor<double>({1, features}, 0.0)) {}

  Tensor<double> forward(const Tensor<double>& input) override {
    input_ = input;
    const std::size_t features = weights_.value.size();
    // The planted bug takes its output from the recycled buffer and skips one element.
    Tensor<double> output =
        bug_ == Bug::kForgetsLastOutput ? new_output(input.shape()) : Tensor<double>(input.shape());
    const std::size_t written = output.size() - (bug_ == Bug::kForgetsLastOutput ? 1 : 0);
    for (std::size_t i = 0; i < written; ++i) {
      output[i] = weights_.value[i % features] * input[i] + bias_.value[i % features];
    }
    return output;
  }
  Tensor<double> backward(const Tensor<double>& error_tensor) override {
    const std::size_t features = weights_.value.size();
    Tensor<double> input_error(error_tensor.shape());
    if (bug_ != Bug::kAddsToGradient) {
      weights_.gradient = Tensor<double>(weights_.value.shape());
      bias_.gradient = Tensor<double>(bias_.value.shape());
    }
    for (std::size_t i = 0; i < error_tensor.size(); ++i) {
      input_error[i] = weights_.value[i % features] * error_tensor[i];
      weights_.gradient[i % features] += error_tensor[i] * input_[i];
      bias_.gradient[i % features] += error_tensor[i];
    }
    if (bug_ == Bug::kDoublesInputError) {
      for (double& e : input_error) e *= 2;
    }
    apply_updates();
    return input_error;
  }
  std::vector<Parameter<double>*> parameters() override { return {&weights_, &bias_}; }
  void initialize(Initializer<double>& weights_init, Initializer<double>& bias_init) override {
    const Shape shape = weights_.value.shape();
    weights_.value = weights_init.initialize(shape, shape[1], shape[1]);
    bias_.value = bias_init.initialize(shape, shape[1], shape[1]);
  }

 private:
  Bug bug_;
  Parameter<double> weights_;
  Parameter<double> bias_;
  Tensor<double> input_;
};

// The same batch every time: four samples of three classes, separable.
class FixedBatch : public DataLayer<double> {
 public:
  Batch<double> next() override {
    Tensor<double> input({4, 2}, std::vector<double>{1.0, 0.2, 0.1, 1.0, -1.0, -0.3, 0.9, 0.1});
    Tensor<double> label({4, 3}, std::vector<double>{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0});
    return {std::move(input), std::move(label)};
  }
};

std::unique_ptr<NeuralNetwork<double>> small_network(const Optimizer<double>& optimizer) {
  set_seed(11);
  auto network = std::make_unique<NeuralNetwork<double>>(optimizer, UniformRandom<double>(),
                                                         Constant<double>(0.1));
  network->append_layer(std::make_unique<FullyConnected<double>>(2, 3));
  network->append_layer(std::make_unique<FeatureScale>(3));
  network->append_layer(std::make_unique<SoftMax<double>>());
  network->set_data_layer(std::make_unique<FixedBatch>());
  network->set_loss_layer(std::make_unique<CrossEntropyLoss<double>>());
  return network;
}

std::vector<Tensor<double>> all_weights(const std::vector<Layer<double>*>& layers) {
  std::vector<Tensor<double>> weights;
  for (const auto& layer : layers) {
    for (const Parameter<double>* parameter : std::as_const(*layer).parameters()) {
      weights.push_back(parameter->value);
    }
  }
  return weights;
}

TEST(ExtensionPoints, UserOptimizerTrainsANetworkAsSgdDoes) {
  auto user = small_network(LectureSgd<double>(0.5));
  auto builtin = small_network(Sgd<double>(0.5));
  user->train(30);
  builtin->train(30);
  EXPECT_LT(user->loss().back(), 0.5 * user->loss().front());
  // w - eta g in a new tensor and in place: the same arithmetic, so the same bits.
  const std::vector<Tensor<double>> user_weights = all_weights(user->layers());
  const std::vector<Tensor<double>> builtin_weights = all_weights(builtin->layers());
  ASSERT_EQ(user_weights.size(), 4u);
  for (std::size_t i = 0; i < user_weights.size(); ++i) {
    expect_bitwise_equal(user_weights[i], builtin_weights[i]);
  }
}

TEST(ExtensionPoints, UserOptimizerHandComputedStepAndDefaults) {
  LectureSgd<double> optimizer(0.1);
  EXPECT_EQ(optimizer.name(), "UserOptimizer");
  EXPECT_TRUE(optimizer.state().empty());
  Tensor<double> weights({2}, std::vector<double>{1.0, -2.0});
  optimizer.update(weights, Tensor<double>({2}, std::vector<double>{0.5, 1.0}));
  EXPECT_DOUBLE_EQ(weights[0], 1.0 - 0.1 * 0.5);
  EXPECT_DOUBLE_EQ(weights[1], -2.0 - 0.1 * 1.0);
  // A schedule's scale reaches a user optimizer through learning_rate_scale().
  optimizer.set_learning_rate_scale(0.5);
  optimizer.update(weights, Tensor<double>({2}, std::vector<double>{1.0, 0.0}));
  EXPECT_DOUBLE_EQ(weights[0], 0.95 - 0.05);
  EXPECT_THROW(optimizer.set_learning_rate_scale(-1.0), std::invalid_argument);
  EXPECT_THROW(optimizer.update(weights, Tensor<double>({3})), std::invalid_argument);
}

TEST(ExtensionPoints, LearningRateScaleReachesTheBuiltInOptimizers) {
  Sgd<double> sgd(0.1);
  sgd.set_learning_rate_scale(0.5);
  EXPECT_DOUBLE_EQ(sgd.calculate_update(Tensor<double>({1}, 1.0), Tensor<double>({1}, 1.0))[0],
                   0.95);
  SgdWithMomentum<double> momentum(0.1, 0.9);
  momentum.set_learning_rate_scale(0.5);
  EXPECT_DOUBLE_EQ(momentum.calculate_update(Tensor<double>({1}, 1.0), Tensor<double>({1}, 1.0))[0],
                   0.95);
  // Adam's first step moves every weight by eta (times the scale) against the gradient's sign.
  Adam<double> adam(0.1, 0.9, 0.999);
  adam.set_learning_rate_scale(0.5);
  EXPECT_NEAR(adam.calculate_update(Tensor<double>({1}, 1.0), Tensor<double>({1}, 1.0))[0], 0.95,
              1e-9);
}

// A user optimizer whose calculate_update returns another shape is named in the message.
class WrongShape : public Optimizer<float> {
 public:
  Tensor<float> calculate_update(const Tensor<float>&, const Tensor<float>&) override {
    return Tensor<float>({1});
  }
  std::unique_ptr<Optimizer<float>> clone() const override {
    return std::make_unique<WrongShape>();
  }
};

TEST(ExtensionPoints, UserOptimizerReturningAnotherShapeIsRefused) {
  WrongShape optimizer;
  Tensor<float> weights({2, 2});
  const std::string message = message_of<std::invalid_argument>([&] {
    optimizer.update(weights, Tensor<float>({2, 2}));
  });
  EXPECT_NE(message.find("UserOptimizer: expected calculate_update to return"), std::string::npos)
      << message;
}

ModelDescription iris_with_sgd() {
  ModelDescription description = preset("iris-mlp");
  description.optimizer = OptimizerSpec{};
  description.optimizer.type = "Sgd";
  description.optimizer.learning_rate = 0.002;
  return description;
}

TEST(ExtensionPoints, UserOptimizerTrainsAModelAndItsCheckpointSaysHowToResume) {
  const Dataset<double> iris = load_iris<double>(std::string(CNNKIT_DATA_DIR) + "/iris.csv");
  set_seed(3);
  Model<double> user = build_model<double>(iris_with_sgd());
  set_seed(3);
  Model<double> builtin = build_model<double>(iris_with_sgd());
  for (const auto& layer : user.graph.layers()) layer->set_optimizer(LectureSgd<double>(0.002));

  TrainingState user_state;
  TrainingState builtin_state;
  set_seed(4);
  train(user, iris, iris, TrainOptions{3, 16, 1000}, user_state);
  set_seed(4);
  train(builtin, iris, iris, TrainOptions{3, 16, 1000}, builtin_state);
  EXPECT_LT(user_state.history.back().train_loss, user_state.history.front().train_loss);
  const std::vector<Tensor<double>> user_weights = all_weights(user.graph.layers());
  const std::vector<Tensor<double>> builtin_weights = all_weights(builtin.graph.layers());
  for (std::size_t i = 0; i < user_weights.size(); ++i) {
    expect_bitwise_equal(user_weights[i], builtin_weights[i]);
  }

  // The checkpoint saves; resuming it says what to do instead of "missing tensor".
  const testing::TempDir dir;
  const std::string path = (dir.path() / "user.safetensors").string();
  save_checkpoint(path, user, user_state);
  const std::string message =
      message_of<std::invalid_argument>([&] { (void)load_checkpoint<double>(path); });
  EXPECT_NE(message.find("user optimizer 'UserOptimizer'"), std::string::npos) << message;
  EXPECT_NE(message.find("saved no state"), std::string::npos) << message;
  // Its weights load as a model.
  const Model<double> loaded = load_model<double>(path);
  const std::vector<Tensor<double>> loaded_weights = all_weights(loaded.graph.layers());
  for (std::size_t i = 0; i < user_weights.size(); ++i) {
    expect_bitwise_equal(loaded_weights[i], user_weights[i]);
  }
}

TEST(ExtensionPoints, LectureLayerDefaultsAndItPassesCheckLayer) {
  FeatureScale layer(3);
  EXPECT_EQ(layer.type(), "UserLayer");
  EXPECT_EQ(layer.output_shape({4, 3}), (Shape{4, 3}));
  const Tensor<double> input({2, 3}, std::vector<double>{0.5, -1.0, 2.0, 0.25, 1.5, -0.75});
  const LayerCheckResult result = check_layer<double>(layer, input);
  EXPECT_TRUE(result.passed()) << result.report();
  EXPECT_EQ(result.gradients.entries.size(), 3u);  // input, weights, bias
}

TEST(ExtensionPoints, CheckLayerFindsEachPlantedBug) {
  const Tensor<double> input({2, 3}, std::vector<double>{0.5, -1.0, 2.0, 0.25, 1.5, -0.75});
  const std::vector<std::pair<FeatureScale::Bug, std::string>> bugs = {
      {FeatureScale::Bug::kAddsToGradient, "must assign the gradient, not add to it"},
      {FeatureScale::Bug::kDoublesInputError, "the gradient of the input has a relative error"},
      {FeatureScale::Bug::kForgetsLastOutput, "must assign every element of its output"},
  };
  for (const auto& [bug, expected] : bugs) {
    FeatureScale layer(3, bug);
    const LayerCheckResult result = check_layer<double>(layer, input);
    EXPECT_FALSE(result.passed()) << expected;
    EXPECT_NE(result.report().find(expected), std::string::npos) << result.report();
  }
}

// A layer that changes the shape but keeps the default output_shape() is caught.
class FirstFeature : public Layer<double> {
 public:
  Tensor<double> forward(const Tensor<double>& input) override {
    shape_ = input.shape();
    Tensor<double> output({input.dim(0), 1});
    for (std::size_t n = 0; n < input.dim(0); ++n) output[n] = input[n * input.dim(1)];
    return output;
  }
  Tensor<double> backward(const Tensor<double>& error_tensor) override {
    Tensor<double> input_error(shape_);
    for (std::size_t n = 0; n < shape_[0]; ++n) input_error[n * shape_[1]] = error_tensor[n];
    return input_error;
  }

 private:
  Shape shape_;
};

TEST(ExtensionPoints, CheckLayerFindsAMissingOutputShape) {
  FirstFeature layer;
  const LayerCheckResult result = check_layer<double>(layer, Tensor<double>({2, 3}, 1.0));
  EXPECT_NE(result.report().find("output_shape([2, 3]) gives [2, 3], forward() returns [2, 1]"),
            std::string::npos)
      << result.report();
}

TEST(ExtensionPoints, CheckLayerRefusesALayerWithAnOptimizer) {
  FeatureScale layer(3);
  layer.set_optimizer(Sgd<double>(0.1));
  EXPECT_THROW(check_layer<double>(layer, Tensor<double>({2, 3})), std::invalid_argument);
}

TEST(ExtensionPoints, LectureLayerCallsAreOrderedThroughTheHandOverForms) {
  FeatureScale layer(3);
  Layer<double>& base = layer;
  const Tensor<double> input({2, 3}, 1.0);
  EXPECT_THROW(base.backward(Tensor<double>({2, 3})), std::logic_error);  // no forward yet
  (void)base.forward(Tensor<double>(input));
  (void)base.backward(Tensor<double>({2, 3}));
  const std::string message = message_of<std::logic_error>([&] {
    (void)base.backward(Tensor<double>({2, 3}));
  });
  EXPECT_NE(message.find("UserLayer: expected a fresh forward() before backward()"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("a second backward() after one forward()"), std::string::npos) << message;
}

}  // namespace
}  // namespace cnnkit
