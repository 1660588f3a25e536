// NeuralNetwork with small stand-in layers defined here (so these tests check the network's own
// logic: who is initialized, who gets optimizers, the call order, the hand-computed training
// steps, the validation messages and the divergence check).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cnnkit/neural_network.hpp"
#include "layer_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::message_of;

using Log = std::vector<std::string>;

// y = w x with a single weight w; records its calls in `log`.
template <typename T>
class Scale : public Layer<T> {
 public:
  Scale(std::string name, Log* log) : name_(std::move(name)), log_(log) {}
  using Layer<T>::backward;
  using Layer<T>::forward;
  std::string type() const override { return "Scale"; }
  Tensor<T> forward(const Tensor<T>& input) override {
    if (input.rank() != 2) throw std::invalid_argument("Scale: expected rank 2");
    log_->push_back("forward " + name_);
    input_ = input;
    Tensor<T> output = input;
    for (T& value : output) value *= weight_.value[0];
    return output;
  }
  Tensor<T> backward(const Tensor<T>& error_tensor) override {
    log_->push_back("backward " + name_);
    // dL/dw = sum E x; dL/dx = E w (with the weight forward used).
    T gradient = 0;
    Tensor<T> error_below = error_tensor;
    for (std::size_t i = 0; i < error_tensor.size(); ++i) {
      gradient += error_tensor[i] * input_[i];
      error_below[i] *= weight_.value[0];
    }
    weight_.gradient[0] = gradient;
    this->apply_updates();
    return error_below;
  }
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }
  std::vector<Parameter<T>*> parameters() override { return {&weight_}; }
  void initialize(Initializer<T>& weights_init, Initializer<T>& /*bias_init*/) override {
    weight_.value = weights_init.initialize({1}, 1, 1);
  }
  T weight() const { return weight_.value[0]; }
  const Parameter<T>& parameter() const { return weight_; }

 private:
  std::string name_;
  Log* log_;
  Parameter<T> weight_{"weights", Tensor<T>({1}, T(1))};
  Tensor<T> input_;
};

// No parameters; counts initialize() calls, which the network must not make.
template <typename T>
class Identity : public Layer<T> {
 public:
  explicit Identity(Log* log) : log_(log) {}
  using Layer<T>::backward;
  using Layer<T>::forward;
  std::string type() const override { return "Identity"; }
  Tensor<T> forward(const Tensor<T>& input) override {
    log_->push_back("forward identity");
    return input;
  }
  Tensor<T> backward(const Tensor<T>& error_tensor) override {
    log_->push_back("backward identity");
    return error_tensor;
  }
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }
  void initialize(Initializer<T>& /*weights_init*/, Initializer<T>& /*bias_init*/) override {
    log_->push_back("initialize identity");
  }

 private:
  Log* log_;
};

// L = sum (prediction - label)^2, E = 2 (prediction - label).
template <typename T>
class SquaredLoss : public Loss<T> {
 public:
  explicit SquaredLoss(Log* log) : log_(log) {}
  std::string type() const override { return "SquaredLoss"; }
  T forward(const Tensor<T>& prediction, const Tensor<T>& label) override {
    log_->push_back("loss forward");
    prediction_ = prediction;
    T loss = 0;
    for (std::size_t i = 0; i < label.size(); ++i) {
      loss += (prediction[i] - label[i]) * (prediction[i] - label[i]);
    }
    return loss;
  }
  Tensor<T> backward(const Tensor<T>& label) override {
    log_->push_back("loss backward");
    Tensor<T> error_tensor = label;
    for (std::size_t i = 0; i < label.size(); ++i) {
      error_tensor[i] = T(2) * (prediction_[i] - label[i]);
    }
    return error_tensor;
  }

 private:
  Log* log_;
  Tensor<T> prediction_;
};

// The same (input, label) every time; counts its batches.
template <typename T>
class FixedData : public DataLayer<T> {
 public:
  FixedData(T input, T label, std::size_t* count) : input_(input), label_(label), count_(count) {}
  Batch<T> next() override {
    ++*count_;
    return {Tensor<T>({1, 1}, input_), Tensor<T>({1, 1}, label_)};
  }

 private:
  T input_;
  T label_;
  std::size_t* count_;
};

TEST(NeuralNetwork, InitializesTrainableLayersAndGivesThemOptimizerCopies) {
  Log log;
  Sgd<double> sgd(0.1);
  NeuralNetwork<double> net(sgd, Constant<double>(0.5), Constant<double>(0.0));
  auto scale = std::make_unique<Scale<double>>("a", &log);
  const Scale<double>* a = scale.get();
  net.append_layer(std::move(scale));
  net.append_layer(std::make_unique<Identity<double>>(&log));
  auto second = std::make_unique<Scale<double>>("b", &log);
  const Scale<double>* b = second.get();
  net.append_layer(std::move(second));

  EXPECT_EQ(a->weight(), 0.5);  // from the weights initializer, not the layer's own 1
  EXPECT_EQ(b->weight(), 0.5);
  EXPECT_TRUE(log.empty()) << "the parameterless layer was initialized";
  ASSERT_NE(a->parameter().optimizer, nullptr);
  ASSERT_NE(b->parameter().optimizer, nullptr);
  EXPECT_EQ(a->parameter().optimizer->name(), "Sgd");
  EXPECT_NE(a->parameter().optimizer.get(), b->parameter().optimizer.get());
  EXPECT_EQ(net.layers().size(), 3u);
}

TEST(NeuralNetwork, TrainsWithHandComputedSteps) {
  // One layer y = w x, x = 2, label 3, w0 = 0.5, Sgd(0.1), L = (y - 3)^2:
  // step 1: y = 1, L = 4, E = -4, dL/dw = E x = -8, w = 0.5 + 0.8 = 1.3;
  // step 2: y = 2.6, L = 0.16, E = -0.8, dL/dw = -1.6, w = 1.3 + 0.16 = 1.46.
  Log log;
  std::size_t batches = 0;
  NeuralNetwork<double> net(Sgd<double>(0.1), Constant<double>(0.5), Constant<double>(0.0));
  auto scale = std::make_unique<Scale<double>>("a", &log);
  const Scale<double>* layer = scale.get();
  net.append_layer(std::move(scale));
  net.set_data_layer(std::make_unique<FixedData<double>>(2.0, 3.0, &batches));
  net.set_loss_layer(std::make_unique<SquaredLoss<double>>(&log));

  net.train(2);
  ASSERT_EQ(net.loss().size(), 2u);
  EXPECT_NEAR(net.loss()[0], 4.0, 1e-12);
  EXPECT_NEAR(net.loss()[1], 0.16, 1e-12);
  EXPECT_NEAR(layer->weight(), 1.46, 1e-12);
  EXPECT_EQ(batches, 2u);
  // train() appends: one more iteration, loss (2.92 - 3)^2 = 0.0064.
  net.train(1);
  ASSERT_EQ(net.loss().size(), 3u);
  EXPECT_NEAR(net.loss()[2], 0.0064, 1e-12);
}

TEST(NeuralNetwork, ForwardThenBackwardInReverseOrder) {
  Log log;
  std::size_t batches = 0;
  NeuralNetwork<float> net(Sgd<float>(0.1f), Constant<float>(1.0f), Constant<float>(0.0f));
  net.append_layer(std::make_unique<Scale<float>>("a", &log));
  net.append_layer(std::make_unique<Identity<float>>(&log));
  net.append_layer(std::make_unique<Scale<float>>("b", &log));
  net.set_data_layer(std::make_unique<FixedData<float>>(1.0f, 1.0f, &batches));
  net.set_loss_layer(std::make_unique<SquaredLoss<float>>(&log));
  EXPECT_EQ(net.forward(), 0.0f);
  net.backward();
  EXPECT_EQ(log, (Log{"forward a", "forward identity", "forward b", "loss forward", "loss backward",
                      "backward b", "backward identity", "backward a"}));
  EXPECT_NE(net.data_layer(), nullptr);
  EXPECT_EQ(net.loss_layer()->type(), "SquaredLoss");
}

TEST(NeuralNetwork, TestUsesTheLayersOnly) {
  Log log;
  std::size_t batches = 0;
  NeuralNetwork<double> net(Sgd<double>(0.1), Constant<double>(3.0), Constant<double>(0.0));
  net.append_layer(std::make_unique<Scale<double>>("a", &log));
  net.append_layer(std::make_unique<Scale<double>>("b", &log));
  net.set_data_layer(std::make_unique<FixedData<double>>(1.0, 1.0, &batches));
  net.set_loss_layer(std::make_unique<SquaredLoss<double>>(&log));
  const Tensor<double> output = net.test(Tensor<double>({2, 1}, {1.0, -2.0}));
  EXPECT_EQ(output, Tensor<double>({2, 1}, {9.0, -18.0}));  // 3 * 3 * x
  EXPECT_EQ(log, (Log{"forward a", "forward b"}));
  EXPECT_EQ(batches, 0u);
  EXPECT_TRUE(net.loss().empty());
}

TEST(NeuralNetwork, ClonesTheOptimizerAndInitializers) {
  Log log;
  auto sgd = std::make_unique<Sgd<double>>(0.1);
  auto init = std::make_unique<Constant<double>>(0.25);
  NeuralNetwork<double> net(*sgd, *init, *init);
  sgd.reset();
  init.reset();  // the network holds its own copies
  auto scale = std::make_unique<Scale<double>>("a", &log);
  const Scale<double>* layer = scale.get();
  net.append_layer(std::move(scale));
  EXPECT_EQ(layer->weight(), 0.25);
  EXPECT_EQ(layer->parameter().optimizer->name(), "Sgd");
}

TEST(NeuralNetwork, ExplainsWhatIsMissing) {
  Log log;
  std::size_t batches = 0;
  NeuralNetwork<float> net(Sgd<float>(0.1f), Constant<float>(1.0f), Constant<float>(0.0f));
  std::string message = message_of<std::logic_error>([&] { net.forward(); });
  EXPECT_NE(message.find("NeuralNetwork::forward"), std::string::npos) << message;
  EXPECT_NE(message.find("data layer"), std::string::npos) << message;

  net.set_data_layer(std::make_unique<FixedData<float>>(1.0f, 1.0f, &batches));
  message = message_of<std::logic_error>([&] { net.train(1); });
  EXPECT_NE(message.find("loss layer"), std::string::npos) << message;

  net.set_loss_layer(std::make_unique<SquaredLoss<float>>(&log));
  message = message_of<std::logic_error>([&] { net.forward(); });
  EXPECT_NE(message.find("at least one layer"), std::string::npos) << message;
  message = message_of<std::logic_error>([&] { net.test(Tensor<float>({1, 1})); });
  EXPECT_NE(message.find("NeuralNetwork::test"), std::string::npos) << message;

  net.append_layer(std::make_unique<Scale<float>>("a", &log));
  message = message_of<std::logic_error>([&] { net.backward(); });
  EXPECT_NE(message.find("NeuralNetwork::backward"), std::string::npos) << message;
  EXPECT_NE(message.find("forward() before backward()"), std::string::npos) << message;
  EXPECT_EQ(batches, 0u);
}

TEST(NeuralNetwork, RejectsNullPointers) {
  NeuralNetwork<double> net(Sgd<double>(0.1), Constant<double>(), Constant<double>());
  EXPECT_THROW(net.append_layer(nullptr), std::invalid_argument);
  EXPECT_THROW(net.set_data_layer(nullptr), std::invalid_argument);
  EXPECT_THROW(net.set_loss_layer(nullptr), std::invalid_argument);
  const std::string message = message_of<std::invalid_argument>([&] { net.append_layer(nullptr); });
  EXPECT_NE(message.find("NeuralNetwork::append_layer: expected a layer, got nullptr"),
            std::string::npos)
      << message;
  const std::string loss_message =
      message_of<std::invalid_argument>([&] { net.set_loss_layer(nullptr); });
  EXPECT_NE(loss_message.find("NeuralNetwork::set_loss_layer: expected a loss layer, got nullptr"),
            std::string::npos)
      << loss_message;
  EXPECT_TRUE(net.layers().empty());
}

TEST(NeuralNetwork, NamesTheLayerThatRejectsItsInput) {
  Log log;
  NeuralNetwork<double> net(Sgd<double>(0.1), Constant<double>(), Constant<double>());
  net.append_layer(std::make_unique<Identity<double>>(&log));
  net.append_layer(std::make_unique<Scale<double>>("a", &log));
  const std::string message = message_of<std::invalid_argument>([&] {
    net.test(Tensor<double>({2, 1, 1}));
  });
  EXPECT_NE(message.find("NeuralNetwork: node 'layer1' (Scale): "), std::string::npos) << message;
  EXPECT_NE(message.find("Scale: expected rank 2"), std::string::npos) << message;
}

TEST(NeuralNetwork, StopsWhenTheLossDiverges) {
  // x = 1, label 0, w0 = 0.5, Sgd(10): w <- w - 10 * 2 w = -19 w, so the loss 0.25 * 361^(k-1)
  // of iteration k first overflows float (max 3.4e38) at k = 17 (0.25 * 361^16 = 2.1e40).
  Log log;
  std::size_t batches = 0;
  NeuralNetwork<float> net(Sgd<float>(10.0f), Constant<float>(0.5f), Constant<float>(0.0f));
  net.append_layer(std::make_unique<Scale<float>>("a", &log));
  net.set_data_layer(std::make_unique<FixedData<float>>(1.0f, 0.0f, &batches));
  net.set_loss_layer(std::make_unique<SquaredLoss<float>>(&log));
  const std::string message = message_of<std::runtime_error>([&] { net.train(100); });
  EXPECT_NE(message.find("NeuralNetwork: loss became inf at iteration 17"), std::string::npos)
      << message;
  ASSERT_EQ(net.loss().size(), 17u);
  EXPECT_NEAR(net.loss()[15] / (0.25f * std::pow(361.0f, 15.0f)), 1.0f, 1e-5f);  // 5.8e37
  EXPECT_EQ(batches, 17u);
}

TEST(NeuralNetwork, StopsAtNaNInput) {
  Log log;
  std::size_t batches = 0;
  NeuralNetwork<double> net(Sgd<double>(0.1), Constant<double>(0.5), Constant<double>(0.0));
  net.append_layer(std::make_unique<Scale<double>>("a", &log));
  net.set_data_layer(
      std::make_unique<FixedData<double>>(std::numeric_limits<double>::quiet_NaN(), 0.0, &batches));
  net.set_loss_layer(std::make_unique<SquaredLoss<double>>(&log));
  const std::string message = message_of<std::runtime_error>([&] { net.train(5); });
  EXPECT_NE(message.find("loss became NaN at iteration 1"), std::string::npos) << message;
  // Stopped before backward: the weight never saw the NaN.
  EXPECT_EQ(log, (Log{"forward a", "loss forward"}));
}

// The label (1, 2) does not fit the prediction (1, 1): the loss refuses it.
template <typename T>
class MismatchedData : public DataLayer<T> {
 public:
  Batch<T> next() override { return {Tensor<T>({1, 1}, T(1)), Tensor<T>({1, 2}, T(1))}; }
};

TEST(NeuralNetwork, BackwardAfterAFailedForwardIsRefused) {
  Log log;
  std::size_t batches = 0;
  NeuralNetwork<double> net(Sgd<double>(0.1), Constant<double>(0.5), Constant<double>(0.0));
  auto scale = std::make_unique<Scale<double>>("a", &log);
  const Scale<double>* layer = scale.get();
  net.append_layer(std::move(scale));
  net.set_data_layer(std::make_unique<FixedData<double>>(2.0, 3.0, &batches));
  net.set_loss_layer(std::make_unique<L2Loss<double>>());
  EXPECT_NEAR(net.forward(), 4.0, 1e-12);  // (0.5 * 2 - 3)^2

  // The next batch gets through the layer but not through the loss: backward() must not pair
  // the layer's new cache with the old label.
  net.set_data_layer(std::make_unique<MismatchedData<double>>());
  const std::string forward_message = message_of<std::invalid_argument>([&] { net.forward(); });
  EXPECT_NE(forward_message.find("NeuralNetwork::forward: loss (L2Loss)"), std::string::npos)
      << forward_message;
  const std::string message = message_of<std::logic_error>([&] { net.backward(); });
  EXPECT_NE(message.find("NeuralNetwork::backward: expected forward() before backward()"),
            std::string::npos)
      << message;
  EXPECT_EQ(layer->weight(), 0.5);  // nothing was updated
}

}  // namespace
}  // namespace cnnkit
