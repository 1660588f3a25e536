// The engine (graph.hpp): building and checking a graph, a value read by several nodes, the
// gradients-only backward and the update phase, and inference in the testing phase.
#include "cnnkit/graph.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/training_step.hpp"

namespace cnnkit {
namespace {

template <typename T>
Tensor<T> random_tensor(const Shape& shape, unsigned seed) {
  set_seed(seed);
  return UniformRandom<T>().initialize(shape, 1, 1);
}

template <typename L, typename... Args>
std::unique_ptr<Layer<double>> initialized(Args&&... args) {
  auto layer = std::make_unique<L>(std::forward<Args>(args)...);
  UniformRandom<double> weights;
  UniformRandom<double> bias;
  layer->initialize(weights, bias);
  return layer;
}

// The message of the std::invalid_argument that `call` throws ("" if none).
template <typename Call>
std::string message_of(Call&& call) {
  try {
    call();
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

TEST(Graph, AChainRunsInTheOrderItWasAddedAndNamesItsNodes) {
  Graph<double> graph;
  graph.append(std::make_unique<ReLU<double>>()).append(std::make_unique<Flatten<double>>());
  EXPECT_EQ(graph.name(0), "layer0");
  EXPECT_EQ(graph.name(1), "layer1");
  EXPECT_EQ(graph.inputs(1), std::vector<std::string>{"layer0"});
  EXPECT_EQ(graph.order(), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(graph.output_shape({2, 3, 4}), (Shape{2, 12}));
  const Tensor<double> input({1, 2, 2}, {-1, 2, -3, 4});
  const Tensor<double> output = graph.infer(input);
  EXPECT_EQ(output, Tensor<double>({1, 4}, {0, 2, 0, 4}));
}

TEST(Graph, TheOrderFollowsTheInputsNotTheOrderOfAdding) {
  Graph<double> graph;
  graph.add("sum", std::make_unique<Add<double>>(), {"a", "b"});
  graph.add("b", std::make_unique<ReLU<double>>(), {"a"});
  graph.add("a", std::make_unique<ReLU<double>>(), {"input"});
  EXPECT_EQ(graph.order(), (std::vector<std::size_t>{2, 1, 0}));
  // sum = relu(x) + relu(relu(x))
  const Tensor<double> output = graph.infer(Tensor<double>({1, 3}, {-1, 2, 3}));
  EXPECT_EQ(output, Tensor<double>({1, 3}, {0, 4, 6}));
}

// y = a * x, one scalar weight: the error for x is a * error, the weight's gradient sum(e * x).
class ScaleLayer : public Layer<double> {
 public:
  using Layer<double>::backward;
  using Layer<double>::forward;
  explicit ScaleLayer(double a) : weights_("weights", Tensor<double>({1}, a)) {}
  std::string type() const override { return "Scale"; }
  Tensor<double> forward(const Tensor<double>& input) override {
    input_ = input;
    Tensor<double> output(input.shape());
    for (std::size_t i = 0; i < input.size(); ++i) output[i] = weights_.value[0] * input[i];
    seen_testing_phase_ = testing_phase();
    return output;
  }
  Tensor<double> backward(const Tensor<double>& error_tensor) override {
    Tensor<double> input_error(error_tensor.shape());
    weights_.gradient[0] = 0;
    for (std::size_t i = 0; i < error_tensor.size(); ++i) {
      input_error[i] = weights_.value[0] * error_tensor[i];
      weights_.gradient[0] += error_tensor[i] * input_[i];
    }
    apply_updates();
    return input_error;
  }
  std::vector<Parameter<double>*> parameters() override { return {&weights_}; }
  bool seen_testing_phase_ = false;

 private:
  Tensor<double> input_;
  Parameter<double> weights_;
};

// x -> s (Scale 3) -> {r (ReLU), t (Scale 2)} -> Add: y = relu(3x) + 6x.
Graph<double> read_twice_graph() {
  Graph<double> graph;
  graph.add("s", std::make_unique<ScaleLayer>(3.0), {"input"});
  graph.add("r", std::make_unique<ReLU<double>>(), {"s"});
  graph.add("t", std::make_unique<ScaleLayer>(2.0), {"s"});
  graph.add("sum", std::make_unique<Add<double>>(), {"r", "t"});
  graph.set_input_error_needed(true);
  return graph;
}

TEST(Graph, ANodeReadTwiceGetsTheSumOfBothErrors) {
  // dy/dx = 3 * (3x > 0) + 6, so for x = (-1, 2): (6, 9), times the error (1, 10).
  Graph<double> graph = read_twice_graph();
  const Tensor<double> output = graph.forward(Tensor<double>({1, 2}, {-1, 2}));
  EXPECT_EQ(output, Tensor<double>({1, 2}, {-6, 18}));
  const Tensor<double> input_error = graph.backward(Tensor<double>({1, 2}, {1, 10}));
  EXPECT_EQ(input_error, Tensor<double>({1, 2}, {6, 90}));
  // The error at s's output is (0 + 2, 10 + 20): the weight's gradient -1 * 2 + 2 * 30 = 58.
  EXPECT_EQ(graph.layer(0).parameters()[0]->gradient[0], 58.0);
  // The same on a second step, with the buffers of the first recycled.
  (void)graph.forward(Tensor<double>({1, 2}, {-1, 2}));
  EXPECT_EQ(graph.backward(Tensor<double>({1, 2}, {1, 10})), Tensor<double>({1, 2}, {6, 90}));
}

// The same graph in parts, as GroupedStep runs it: between the parts, a node's input (before its
// forward) and the summed error for its output (before its backward) are there to read.
TEST(Graph, PassesInPartsShowEachNodesInputAndError) {
  Graph<double> graph = read_twice_graph();
  ASSERT_EQ(graph.order(), (std::vector<std::size_t>{0, 1, 2, 3}));
  graph.begin_forward(Tensor<double>({1, 2}, {-1, 2}));
  graph.forward_nodes(0, 2);
  EXPECT_EQ(graph.node_input(2), Tensor<double>({1, 2}, {-3, 6}));  // t reads s's output
  graph.forward_nodes(2, 4);
  EXPECT_EQ(graph.end_forward(), Tensor<double>({1, 2}, {-6, 18}));
  graph.begin_backward(Tensor<double>({1, 2}, {1, 10}));
  graph.backward_nodes(1, 4);
  EXPECT_EQ(graph.node_error(0), Tensor<double>({1, 2}, {2, 30}));  // from r and t
  graph.backward_nodes(0, 1);
  EXPECT_EQ(graph.end_backward(), Tensor<double>({1, 2}, {6, 90}));
  EXPECT_EQ(graph.layer(0).parameters()[0]->gradient[0], 58.0);
}

TEST(Graph, ANodeReadTwicePassesAGradientCheck) {
  Graph<double> graph;
  graph.add("fc0", initialized<FullyConnected<double>>(4, 4), {"input"});
  graph.add("relu", std::make_unique<ReLU<double>>(), {"fc0"});
  graph.add("fc1", initialized<FullyConnected<double>>(4, 4), {"fc0"});
  graph.add("sum", std::make_unique<Add<double>>(), {"relu", "fc1", "fc0"});
  L2Loss<double> loss;
  const GradientCheckResult result = gradient_check<double>(
      graph, loss, random_tensor<double>({3, 4}, 1), random_tensor<double>({3, 4}, 2));
  ASSERT_EQ(result.entries.size(), 5u);
  EXPECT_EQ(result.entries[1].what, "node 'fc0' (FullyConnected) weights");
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-6) << entry.what;
  }
}

TEST(Graph, AResidualBlockPassesAGradientCheckEndToEnd) {
  // Conv -> ReLU -> Conv, + the skip from the input, Add, ReLU, Flatten, FullyConnected, SoftMax.
  Graph<double> graph;
  graph.add("conv1", initialized<Conv<double>>(Shape{1}, Shape{2, 3, 3}, 2), {"input"});
  graph.add("relu1", std::make_unique<ReLU<double>>(), {"conv1"});
  graph.add("conv2", initialized<Conv<double>>(Shape{1}, Shape{2, 3, 3}, 2), {"relu1"});
  graph.add("add", std::make_unique<Add<double>>(), {"conv2", "input"});
  graph.add("relu2", std::make_unique<ReLU<double>>(), {"add"});
  graph.add("flatten", std::make_unique<Flatten<double>>(), {"relu2"});
  graph.add("fc", initialized<FullyConnected<double>>(32, 3), {"flatten"});
  graph.add("softmax", std::make_unique<SoftMax<double>>(), {"fc"});
  EXPECT_EQ(graph.output_shape({2, 2, 4, 4}), (Shape{2, 3}));
  Tensor<double> label({2, 3});
  label(0, 1) = 1;
  label(1, 2) = 1;
  CrossEntropyLoss<double> loss;
  const GradientCheckResult result =
      gradient_check<double>(graph, loss, random_tensor<double>({2, 2, 4, 4}, 3), label);
  ASSERT_EQ(result.entries.size(), 7u);  // the input and two tensors of each trainable node
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-6) << entry.what;
  }
}

TEST(Graph, BackwardComputesGradientsOnlyAndUpdateRunsTheHooksThenTheOptimizers) {
  Graph<double> graph;
  graph.add("s", std::make_unique<ScaleLayer>(3.0), {"input"});
  graph.layer(0).set_optimizer(Sgd<double>(0.5));
  std::vector<double> seen;  // the weight and its gradient as the hook sees them
  graph.update_hooks().push_back([&seen](Graph<double>& g) {
    const Parameter<double>& weights = *g.layer(0).parameters()[0];
    seen = {weights.value[0], weights.gradient[0]};
  });
  (void)graph.forward(Tensor<double>({1, 1}, {2}));
  (void)graph.backward(Tensor<double>({1, 1}, {1}));
  EXPECT_EQ(graph.layer(0).parameters()[0]->value[0], 3.0);  // not updated in backward
  graph.update();
  EXPECT_EQ(seen, (std::vector<double>{3.0, 2.0}));
  EXPECT_EQ(graph.layer(0).parameters()[0]->value[0], 2.0);  // 3 - 0.5 * 2
  // Frozen: update() leaves it alone.
  graph.layer(0).set_frozen(true);
  (void)graph.forward(Tensor<double>({1, 1}, {2}));
  (void)graph.backward(Tensor<double>({1, 1}, {1}));
  graph.update();
  EXPECT_EQ(graph.layer(0).parameters()[0]->value[0], 2.0);
}

TEST(Graph, ALayerOnItsOwnStillUpdatesInBackward) {
  ScaleLayer layer(3.0);
  layer.set_optimizer(Sgd<double>(0.5));
  (void)layer.forward(Tensor<double>({1, 1}, {2}));
  (void)layer.backward(Tensor<double>({1, 1}, {1}));
  EXPECT_EQ(layer.parameters()[0]->value[0], 2.0);
  {
    // A borrowed layer is deferred while in a graph, and as before afterwards.
    Graph<double> graph;
    graph.append(layer);
    EXPECT_TRUE(layer.updates_deferred());
  }
  EXPECT_FALSE(layer.updates_deferred());
}

TEST(Graph, InferRunsTheTestingPhaseAndRestoresEachLayersOwnPhase) {
  Graph<double> graph;
  graph.add("s", std::make_unique<ScaleLayer>(3.0), {"input"});
  const Tensor<double> output = graph.infer(Tensor<double>({1, 1}, {2}));
  EXPECT_EQ(output[0], 6.0);
  EXPECT_TRUE(static_cast<ScaleLayer&>(graph.layer(0)).seen_testing_phase_);
  EXPECT_FALSE(graph.layer(0).testing_phase());
  (void)graph.forward(Tensor<double>({1, 1}, {2}));
  EXPECT_FALSE(static_cast<ScaleLayer&>(graph.layer(0)).seen_testing_phase_);
}

TEST(Graph, ModelForwardPredictsInTheTestingPhase) {
  ModelDescription description;
  description.name = "probe";
  description.input_shape = {1};
  Model<double> model{description, Graph<double>(), build_loss<double>("L2Loss")};
  model.graph.add("s", std::make_unique<ScaleLayer>(3.0), {"input"});
  const Tensor<double> prediction = model.forward(Tensor<double>({2, 1}, {1, 2}));
  EXPECT_EQ(prediction, Tensor<double>({2, 1}, {3, 6}));
  EXPECT_TRUE(static_cast<ScaleLayer&>(model.graph.layer(0)).seen_testing_phase_);
}

TEST(Graph, ErrorsOnForwardNameTheNode) {
  Graph<double> graph;
  graph.set_context("test: ");
  graph.add("a", std::make_unique<ReLU<double>>(), {"input"});
  graph.add("b", std::make_unique<ReLU<double>>(), {"input"});
  graph.add("block2.add", std::make_unique<Add<double>>(), {"a", "b"});
  graph.add("fc", initialized<FullyConnected<double>>(3, 2), {"block2.add"});
  EXPECT_EQ(message_of([&] {
              (void)graph.infer(Tensor<double>({1, 4}));
            }),
            "test: node 'fc' (FullyConnected): FullyConnected: expected input of shape [batch, 3], "
            "got [1, 4]");
}

// Each bad graph: the nodes to add, and the message build() gives.
struct BadGraph {
  const char* what;
  std::vector<std::pair<std::string, std::vector<std::string>>> nodes;  // ReLU, or Add for "add*"
  const char* message;
};

TEST(Graph, BadGraphsAreRefusedWithTheNodeNamed) {
  const std::vector<BadGraph> cases = {
      {"unknown input",
       {{"block2.conv1", {"input"}}, {"block2.add", {"block2.conv1", "block2.conv3"}}},
       "graph: node 'block2.add' (Add): unknown input 'block2.conv3'"},
      {"cycle",
       {{"a", {"input"}}, {"add", {"a", "c"}}, {"c", {"add"}}, {"d", {"c"}}},
       "graph: node 'add' (Add): expected a graph without cycles, got the cycle 'add' <- 'c' <- "
       "'add'"},
      {"two nodes of one name",
       {{"a", {"input"}}, {"a", {"a"}}},
       "graph: node 'a' (ReLU): expected a name of its own, got the name of node 0 (ReLU)"},
      {"a node named input",
       {{"input", {"input"}}},
       "graph: node 'input' (ReLU): expected a name other than 'input' (the graph's input), got "
       "'input'"},
      {"no inputs", {{"a", {}}}, "graph: node 'a' (ReLU): expected at least one input, got none"},
      {"two outputs",
       {{"a", {"input"}}, {"b", {"input"}}},
       "graph: node 'a' (ReLU): expected to feed another node (the graph's one output is node "
       "'b' (ReLU)), got no reader"},
      {"a node that reaches no output",
       {{"a", {"input"}}, {"dead", {"a"}}, {"out", {"a"}}},
       "graph: node 'dead' (ReLU): expected to feed another node (the graph's one output is node "
       "'out' (ReLU)), got no reader"},
      {"a node only a cycle reaches",
       {{"a", {"input"}}, {"add", {"add", "a"}}, {"out", {"a"}}},
       "graph: node 'add' (Add): expected a graph without cycles, got the cycle 'add' <- 'add'"},
      {"two inputs to a single-input layer",
       {{"a", {"input"}}, {"b", {"a", "input"}}},
       "graph: node 'b' (ReLU): expected one input (only a merge layer such as Add or Concat "
       "takes several), got 2"},
  };
  for (const BadGraph& c : cases) {
    Graph<double> graph;
    for (const auto& [name, inputs] : c.nodes) {
      if (name.rfind("add", 0) == 0 || name == "block2.add") {
        graph.add(name, std::make_unique<Add<double>>(), inputs);
      } else {
        graph.add(name, std::make_unique<ReLU<double>>(), inputs);
      }
    }
    EXPECT_EQ(message_of([&] { graph.build(); }), c.message) << c.what;
  }
}

TEST(Graph, MergeInputsOfTheWrongShapeNameTheNode) {
  Graph<double> graph;
  graph.add("flat", std::make_unique<Flatten<double>>(), {"input"});
  graph.add("a", std::make_unique<ReLU<double>>(), {"input"});
  graph.add("sum", std::make_unique<Add<double>>(), {"a", "flat"});
  EXPECT_EQ(message_of([&] {
              (void)graph.output_shape({2, 3, 4});
            }),
            "node 'sum' (Add): Add: expected inputs of one shape (input 0 is [2, 3, 4]), got "
            "[2, 12] for input 1");
  EXPECT_EQ(message_of([&] {
              (void)graph.forward(Tensor<double>({2, 3, 4}));
            }),
            "node 'sum' (Add): Add: expected inputs of one shape (input 0 is [2, 3, 4]), got "
            "[2, 12] for input 1");
}

TEST(Graph, TheTrainingStepOfANetworkOnTheGraphMatchesTheLayersRunByHand) {
  // Two identical chains, one through the engine's step, one layer by layer as the lecture
  // writes it (each layer updating itself in backward): the same weights after three steps.
  const auto make = [] {
    set_seed(7);
    std::vector<std::unique_ptr<Layer<double>>> layers;
    layers.push_back(initialized<FullyConnected<double>>(4, 5));
    layers.push_back(std::make_unique<ReLU<double>>());
    layers.push_back(initialized<FullyConnected<double>>(5, 3));
    layers.push_back(std::make_unique<SoftMax<double>>());
    for (auto& layer : layers) layer->set_optimizer(Adam<double>(0.01, 0.9, 0.999, 1e-8));
    return layers;
  };
  auto by_hand = make();
  Graph<double> graph;
  for (auto& layer : make()) graph.append(std::move(layer));
  CrossEntropyLoss<double> loss_by_hand;
  CrossEntropyLoss<double> loss;
  Tensor<double> label({2, 3});
  label(0, 0) = 1;
  label(1, 2) = 1;
  for (unsigned step = 0; step < 3; ++step) {
    const Tensor<double> input = random_tensor<double>({2, 4}, 10 + step);
    Tensor<double> activation = input;
    for (auto& layer : by_hand) activation = layer->forward(std::move(activation));
    const double expected = loss_by_hand.forward(activation, label);
    Tensor<double> error = loss_by_hand.backward(label);
    for (auto layer = by_hand.rbegin(); layer != by_hand.rend(); ++layer) {
      error = (*layer)->backward(std::move(error));
    }
    EXPECT_EQ(forward_and_loss(graph, loss, Tensor<double>(input), label, "test"), expected);
    (void)backward_and_update(graph, loss, label);
  }
  for (std::size_t l = 0; l < by_hand.size(); ++l) {
    const auto expected = by_hand[l]->parameters();
    const auto actual = graph.layer(l).parameters();
    for (std::size_t p = 0; p < expected.size(); ++p) {
      EXPECT_EQ(actual[p]->value, expected[p]->value) << l << " " << p;
    }
  }
}

}  // namespace
}  // namespace cnnkit
