// The residual network of examples/digits_resnet.json (the blocks of workload W4 without batch
// normalisation, narrowed for the 8x8 digits): its JSON parses into the graph it describes, and
// the gradients of the whole graph, skips and the strided 1x1 skip included, agree with finite
// differences in double. cli_residual_test.cpp trains, saves and predicts it through `cnnkit`.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/gradient_check.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

const std::string kResnetPath = std::string(CNNKIT_EXAMPLES_DIR) + "/digits_resnet.json";

TEST(ResidualEndToEnd, DescriptionIsTheW4BlocksWithoutBatchNorm) {
  const ModelDescription d = load_model_description(kResnetPath);
  const std::vector<Shape> shapes = infer_shapes(d);
  ASSERT_EQ(d.layers.size(), 21u);
  const auto at = [&](const std::string& name) {
    for (std::size_t i = 0; i < d.layers.size(); ++i) {
      if (d.layers[i].name == name) return i;
    }
    ADD_FAILURE() << "no node " << name;
    return std::size_t{0};
  };
  // The strided block halves the 8x8 maps on both paths and doubles the channels.
  EXPECT_EQ(shapes[at("block1.add")], (Shape{4, 8, 8}));
  EXPECT_EQ(shapes[at("block2.conv1")], (Shape{8, 4, 4}));
  EXPECT_EQ(shapes[at("block2.skip")], (Shape{8, 4, 4}));
  EXPECT_EQ(d.layers[at("block2.skip")].inputs, (std::vector<std::string>{"block1.relu"}));
  EXPECT_EQ(d.layers[at("block3.add")].inputs,
            (std::vector<std::string>{"block3.conv2", "block2.relu"}));
  EXPECT_EQ(shapes[at("pool")], (Shape{8}));
  EXPECT_EQ(shapes.back(), (Shape{10}));
}

TEST(ResidualEndToEnd, PassesAGradientCheckEndToEndInDouble) {
  const ModelDescription d = load_model_description(kResnetPath);
  set_seed(11);
  Model<double> model = build_model<double>(d);
  // gradient_check takes layers without optimizers (nothing may move the weights it probes).
  for (Layer<double>* layer : model.graph.layers()) {
    for (Parameter<double>* parameter : layer->parameters()) parameter->optimizer.reset();
  }
  // One thread: a check of every weight is thousands of forward passes of a tiny network.
  const testing::ThreadCountGuard threads;
  set_num_threads(1);
  // Two digits of the shipped data and their one-hot labels.
  const Dataset<double> digits =
      load_digits<double>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz");
  Tensor<double> input({2, 1, 8, 8});
  Tensor<double> label({2, 10});
  for (std::size_t n = 0; n < 2; ++n) {
    for (std::size_t p = 0; p < 64; ++p) input.data()[n * 64 + p] = digits.inputs[n * 64 + p];
    label(n, digits.labels[n]) = 1;
  }
  const GradientCheckResult result = gradient_check<double>(model.graph, *model.loss, input, label);
  // The input, and weights and bias of each of the 8 Convs and of the FullyConnected.
  ASSERT_EQ(result.entries.size(), 1u + 2u * 9u);
  // The central differences carry about 1e-11 of rounding (a loss near 2 in double, step 1e-5),
  // up to 1e-6 of the smallest gradient elements checked here; a wrong gradient (an error not
  // summed where two nodes read one, a skip left out) is off by far more.
  for (const GradientCheckEntry& entry : result.entries) {
    EXPECT_LT(entry.max_relative_error, 1e-5) << entry.what;
  }
}

}  // namespace
}  // namespace cnnkit
