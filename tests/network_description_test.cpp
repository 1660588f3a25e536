// Any network can be saved, loaded, trained by epochs and evaluated: a Graph or NeuralNetwork built
// in C++ describes itself (describe_network) and becomes a Model (to_model) without a description
// written by hand.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/average_pooling.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/leaky_relu.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/network_description.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;

std::pair<Dataset<float>, Dataset<float>> digits() {
  return shuffled_split(load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz"),
                        kDigitsSplit.train_fraction, kDigitsSplit.split_seed);
}

template <typename L, typename... Args>
std::unique_ptr<Layer<float>> trainable(Args&&... args) {
  auto layer = std::make_unique<L>(std::forward<Args>(args)...);
  He<float> weights;
  Constant<float> bias(0.1f);
  layer->initialize(weights, bias);
  layer->set_optimizer(Adam<float>(5e-3f, 0.9f, 0.999f));
  return layer;
}

// A residual block on the digits, built with the graph builder only.
Graph<float> hand_built_graph() {
  Graph<float> graph;
  graph.add("conv1", trainable<Conv<float>>(Shape{1}, Shape{1, 3, 3}, 4), {"input"});
  graph.add("relu1", std::make_unique<ReLU<float>>(), {"conv1"});
  graph.add("conv2", trainable<Conv<float>>(Shape{1}, Shape{4, 3, 3}, 4), {"relu1"});
  graph.add("sum", std::make_unique<Add<float>>(), {"conv2", "relu1"});
  graph.add("pool", std::make_unique<Pooling<float>>(Shape{2, 2}, Shape{2, 2}), {"sum"});
  graph.add("flatten", std::make_unique<Flatten<float>>(), {"pool"});
  graph.add("fc", trainable<FullyConnected<float>>(64, 10), {"flatten"});
  graph.add("softmax", std::make_unique<SoftMax<float>>(), {"fc"});
  return graph;
}

void expect_same_outputs(Model<float>& a, Model<float>& b, const Tensor<float>& input) {
  const Tensor<float> x = a.forward(input);
  const Tensor<float> y = b.forward(input);
  ASSERT_EQ(x.shape(), y.shape());
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(x.data()[i], y.data()[i]) << i;
}

TEST(NetworkDescription, AHandBuiltGraphTrainsByEpochsEvaluatesSavesAndLoads) {
  set_seed(8);
  Model<float> model = to_model(hand_built_graph(), CrossEntropyLoss<float>(), {1, 8, 8}, "hand");
  const ModelDescription& d = model.description;
  ASSERT_EQ(d.layers.size(), 8u);
  EXPECT_EQ(d.layers[0].type, "Conv");
  EXPECT_EQ(d.layers[0].kernels, 4u);
  EXPECT_EQ(d.layers[0].kernel, (Shape{3, 3}));
  EXPECT_EQ(d.layers[3].name, "sum");
  EXPECT_EQ(d.layers[3].inputs, (std::vector<std::string>{"conv2", "relu1"}));
  EXPECT_TRUE(d.layers[4].inputs.empty());  // reads the node before it: the default
  EXPECT_EQ(d.layers[4].window, (Shape{2, 2}));
  EXPECT_EQ(d.layers[6].outputs, 10u);
  EXPECT_EQ(d.optimizer.type, "Adam");
  EXPECT_EQ(d.optimizer.learning_rate, static_cast<double>(5e-3f));
  EXPECT_EQ(d.loss, "CrossEntropyLoss");

  // Epoch training with a callback, and evaluate, as for a model built from a description.
  const auto [train_set, test_set] = digits();
  TrainingState state;
  std::size_t epochs_seen = 0;
  TrainCallbacks<float> callbacks;
  callbacks.on_epoch = [&](const Model<float>&, const TrainingState&, const Evaluation&) {
    ++epochs_seen;
  };
  set_seed(9);
  train(model, train_set, test_set, TrainOptions{2, 32, 1000}, state, callbacks);
  EXPECT_EQ(epochs_seen, 2u);
  EXPECT_GT(evaluate(model, test_set).accuracy, 0.7);

  const testing::TempDir dir;
  const std::string path = (dir.path() / "hand.safetensors").string();
  save_model(path, model.description, model.graph.layers());
  Model<float> loaded = load_model<float>(path);
  EXPECT_EQ(loaded.description, model.description);
  expect_same_outputs(model, loaded, test_set.inputs);

  const std::string checkpoint = (dir.path() / "hand.checkpoint.safetensors").string();
  save_checkpoint(checkpoint, model, state);
  Checkpoint<float> resumed = load_checkpoint<float>(checkpoint);
  expect_same_outputs(model, resumed.model, test_set.inputs);
}

TEST(NetworkDescription, ALectureNeuralNetworkSavesAndLoads) {
  set_seed(10);
  NeuralNetwork<float> network(SgdWithMomentum<float>(0.01f, 0.9f), He<float>(),
                               Constant<float>(0.1f));
  network.append_layer(std::make_unique<Conv<float>>(Shape{2}, Shape{1, 3, 3}, 3));
  network.append_layer(std::make_unique<LeakyReLU<float>>(0.2f));
  network.append_layer(std::make_unique<AveragePooling<float>>(Shape{1, 1}, Shape{2, 2}));
  network.append_layer(std::make_unique<Flatten<float>>());
  network.append_layer(std::make_unique<FullyConnected<float>>(27, 10));
  network.append_layer(std::make_unique<SoftMax<float>>());
  network.set_loss_layer(std::make_unique<CrossEntropyLoss<float>>());
  const Tensor<float> probe = digits().second.inputs;
  const Tensor<float> expected = network.test(probe);

  Model<float> model = to_model(std::move(network), {1, 8, 8});
  const ModelDescription& d = model.description;
  EXPECT_EQ(d.optimizer.type, "SgdWithMomentum");
  EXPECT_EQ(d.layers[0].stride, (Shape{2}));  // as the layer holds it: 2 on both axes
  EXPECT_EQ(d.layers[1].slope, static_cast<double>(0.2f));
  EXPECT_EQ(d.layers[2].window, (Shape{2, 2}));
  EXPECT_EQ(d.layers[2].stride, (Shape{1, 1}));
  for (const LayerSpec& layer : d.layers) {
    EXPECT_TRUE(layer.name.empty());  // a chain keeps the default names and inputs
    EXPECT_TRUE(layer.inputs.empty());
  }
  EXPECT_EQ(model.forward(probe), expected);

  const testing::TempDir dir;
  const std::string path = (dir.path() / "lecture.safetensors").string();
  save_model(path, model.description, model.graph.layers());
  Model<float> loaded = load_model<float>(path);
  EXPECT_EQ(loaded.forward(probe), expected);
}

// A user layer no spec describes.
class Doubler : public Layer<float> {
 public:
  Tensor<float> forward(const Tensor<float>& input) override {
    Tensor<float> output = input;
    for (float& v : output) v *= 2.0f;
    return output;
  }
  Tensor<float> backward(const Tensor<float>& error) override { return error; }
};

TEST(NetworkDescription, AnUndescribableNodeIsNamed) {
  Graph<float> graph;
  graph.add("flatten", std::make_unique<Flatten<float>>(), {"input"});
  graph.add("twice", std::make_unique<Doubler>(), {"flatten"});
  graph.add("softmax", std::make_unique<SoftMax<float>>(), {"twice"});
  EXPECT_EQ(message_of<std::invalid_argument>(
                [&] { (void)describe_network(graph, CrossEntropyLoss<float>(), {4}); }),
            "describe_network: node 'twice' (UserLayer): expected a layer a description can hold "
            "(a built-in layer), got one no spec describes");
}

TEST(NetworkDescription, ANodeReadingALaterNodeIsNamed) {
  Graph<float> graph;
  graph.add("second", std::make_unique<SoftMax<float>>(), {"first"});
  graph.add("first", std::make_unique<Flatten<float>>(), {"input"});
  const std::string message = message_of<std::invalid_argument>(
      [&] { (void)describe_network(graph, CrossEntropyLoss<float>(), {4}); });
  EXPECT_NE(message.find("layer 0 'second' (SoftMax): expected inputs named by nodes before it"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace cnnkit
