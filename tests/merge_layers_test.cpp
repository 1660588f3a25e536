// The merge layers Add and Concat: worked values, bad input, and a gradient check in a graph.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/concat.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {
namespace {

using Inputs = std::vector<const Tensor<double>*>;

std::string message_of_shapes(const MergeLayer<double>& layer, const std::vector<Shape>& shapes) {
  try {
    (void)layer.output_shape(std::span<const Shape>(shapes));
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

TEST(Add, SumsItsInputsAndPassesTheErrorToEach) {
  Add<double> add;
  const Tensor<double> a({1, 3}, {1, 2, 3});
  const Tensor<double> b({1, 3}, {10, 20, 30});
  const Tensor<double> c({1, 3}, {-1, 0, 0.5});
  const Inputs inputs = {&a, &b, &c};
  EXPECT_EQ(add.forward(std::span<const Tensor<double>* const>(inputs)),
            Tensor<double>({1, 3}, {10, 22, 33.5}));
  std::vector<Tensor<double>> errors(3);
  add.backward(Tensor<double>({1, 3}, {1, -2, 4}), std::span<Tensor<double>>(errors));
  for (const Tensor<double>& error : errors) EXPECT_EQ(error, Tensor<double>({1, 3}, {1, -2, 4}));
  // A second backward needs a fresh forward.
  EXPECT_THROW(add.backward(Tensor<double>({1, 3}), std::span<Tensor<double>>(errors)),
               std::logic_error);
}

TEST(Add, RefusesInputsOfDifferentShapes) {
  EXPECT_EQ(message_of_shapes(Add<double>(), {{2, 3}, {2, 3}, {2, 4}}),
            "Add: expected inputs of one shape (input 0 is [2, 3]), got [2, 4] for input 2");
  EXPECT_EQ(message_of_shapes(Add<double>(), {}), "Add: expected at least one input, got none");
}

TEST(Concat, JoinsAlongTheChannelsAndSplitsTheError) {
  Concat<double> concat;
  // (batch 2, channels 1 and 2, 2 positions)
  const Tensor<double> a({2, 1, 2}, {1, 2, 3, 4});
  const Tensor<double> b({2, 2, 2}, {10, 11, 12, 13, 20, 21, 22, 23});
  const Inputs inputs = {&a, &b};
  EXPECT_EQ(concat.output_shape(std::vector<Shape>{a.shape(), b.shape()}), (Shape{2, 3, 2}));
  EXPECT_EQ(concat.forward(std::span<const Tensor<double>* const>(inputs)),
            Tensor<double>({2, 3, 2}, {1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23}));
  std::vector<Tensor<double>> errors(2);
  concat.backward(Tensor<double>({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}),
                  std::span<Tensor<double>>(errors));
  EXPECT_EQ(errors[0], Tensor<double>({2, 1, 2}, {1, 2, 7, 8}));
  EXPECT_EQ(errors[1], Tensor<double>({2, 2, 2}, {3, 4, 5, 6, 9, 10, 11, 12}));
}

TEST(Concat, RefusesShapesThatDifferOutsideTheChannels) {
  EXPECT_EQ(message_of_shapes(Concat<double>(), {{2, 1, 4}, {2, 3, 5}}),
            "Concat: expected inputs that differ only in axis 1, the channels (input 0 is "
            "[2, 1, 4]), got [2, 3, 5] for input 1");
  EXPECT_EQ(message_of_shapes(Concat<double>(), {{2, 1, 4}, {2, 3}}),
            "Concat: expected inputs that differ only in axis 1, the channels (input 0 is "
            "[2, 1, 4]), got [2, 3] for input 1");
  EXPECT_EQ(message_of_shapes(Concat<double>(), {{4}}),
            "Concat: expected inputs of rank 2 or more (batch, channels, ...), got [4]");
}

TEST(MergeLayers, OneInputIsTheIdentity) {
  Add<double> add;
  Concat<double> concat;
  const Tensor<double> x({1, 2}, {3, -4});
  EXPECT_EQ(add.forward(x), x);
  EXPECT_EQ(add.backward(Tensor<double>({1, 2}, {1, 2})), Tensor<double>({1, 2}, {1, 2}));
  EXPECT_EQ(concat.forward(x), x);
  EXPECT_EQ(concat.backward(Tensor<double>({1, 2}, {1, 2})), Tensor<double>({1, 2}, {1, 2}));
}

TEST(MergeLayers, ConcatAndAddInAGraphPassAGradientCheck) {
  // x -> fc1, x -> relu; Concat(fc1, relu, x) -> fc2; Add(fc2, fc3(x)).
  set_seed(5);
  UniformRandom<double> init;
  const auto fc = [&](std::size_t in, std::size_t out) {
    auto layer = std::make_unique<FullyConnected<double>>(in, out);
    layer->initialize(init, init);
    return layer;
  };
  Graph<double> graph;
  graph.add("fc1", fc(3, 2), {"input"});
  graph.add("relu", std::make_unique<ReLU<double>>(), {"input"});
  graph.add("cat", std::make_unique<Concat<double>>(), {"fc1", "relu", "input"});
  graph.add("fc2", fc(8, 4), {"cat"});
  graph.add("fc3", fc(3, 4), {"input"});
  graph.add("sum", std::make_unique<Add<double>>(), {"fc2", "fc3"});
  const Tensor<double> input = init.initialize({2, 3}, 1, 1);
  const Tensor<double> label = init.initialize({2, 4}, 1, 1);
  L2Loss<double> loss;
  const GradientCheckResult result = gradient_check<double>(graph, loss, input, label);
  ASSERT_EQ(result.entries.size(), 7u);
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-6) << entry.what;
  }
}

}  // namespace
}  // namespace cnnkit
