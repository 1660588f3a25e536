// GroupedStep with BatchNorm (statistics of the global batch, synchronised across the groups and
// ranks) and with a loss's mean over the global batch; ranks as threads (thread_ranks.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cnnkit/grouped_step.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "cnnkit/training_step.hpp"
#include "thread_count_guard.hpp"
#include "thread_ranks.hpp"

namespace cnnkit {
namespace {

// Two BatchNorms: one after a convolution (per channel over batch x 8 x 8), one after a strided
// one (per channel over batch x 4 x 4).
constexpr const char* kDescription = R"({
  "name": "digits-bn",
  "input_shape": [1, 8, 8],
  "classes": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  "layers": [
    {"type": "Conv", "kernels": 3, "kernel": 3},
    {"type": "BatchNorm"},
    {"type": "ReLU"},
    {"type": "Conv", "kernels": 4, "kernel": 3, "stride": 2},
    {"type": "BatchNorm"},
    {"type": "ReLU"},
    {"type": "Flatten"},
    {"type": "FullyConnected", "outputs": 10}
  ],
  "weights_initializer": {"type": "He"},
  "bias_initializer": {"type": "Constant", "value": 0.1},
  "optimizer": {"type": "Sgd", "learning_rate": 0.05},
  "loss": "SoftmaxCrossEntropy"
})";

template <typename T>
Model<T> bn_model() {
  set_seed(5);
  return build_model<T>(parse_model_description(kDescription));
}

template <typename T>
Graph<T> bn_graph() {
  return bn_model<T>().graph;
}

// `count` samples whose channels have a mean far from 0 (BatchNorm's shift matters), and labels.
template <typename T>
struct Batch {
  Tensor<T> input, label;
  std::vector<std::size_t> classes;
  Batch(std::size_t count, std::size_t salt)
      : input(Shape{count, 1, 8, 8}), label(Shape{count, 10}) {
    for (std::size_t i = 0; i < input.size(); ++i) {
      input.data()[i] = static_cast<T>(3.0 + static_cast<double>((i * 37 + salt * 11) % 17) / 8.0);
    }
    for (std::size_t n = 0; n < count; ++n) {
      classes.push_back((n * 3 + salt) % 10);
      label(n, classes.back()) = T(1);
    }
  }
};

// Every parameter's values, then every buffer (the running statistics), of a graph.
template <typename T>
std::vector<T> state_of(Graph<T>& graph) {
  std::vector<T> state;
  for (Layer<T>* layer : graph.layers()) {
    for (Parameter<T>* parameter : layer->parameters()) {
      state.insert(state.end(), parameter->value.begin(), parameter->value.end());
    }
    for (const LayerBuffer<T>& buffer : layer->buffers()) {
      state.insert(state.end(), buffer.value->begin(), buffer.value->end());
    }
  }
  return state;
}

template <typename T>
std::vector<T> gradients_of(Graph<T>& graph) {
  std::vector<T> gradients;
  for (Parameter<T>* parameter : graph.parameters()) {
    gradients.insert(gradients.end(), parameter->gradient.begin(), parameter->gradient.end());
  }
  return gradients;
}

// Three steps of 4 groups on `ranks` ranks (threads): batches of 8, 6 and 3 samples (the last one
// leaves group 0 empty, and rank 0 of 4 without samples). Returns every rank's state afterwards.
std::vector<std::vector<float>> train_on_ranks(std::size_t ranks) {
  std::vector<Model<float>> models;
  for (std::size_t r = 0; r < ranks; ++r) models.push_back(bn_model<float>());
  testing::ThreadRanks threads(ranks);
  std::vector<std::vector<float>> states(ranks);
  threads.run([&](Communicator& communicator) {
    Model<float>& model = models[communicator.rank()];
    GroupedStep<float> step(model.graph, *model.loss, communicator, 4, bn_graph<float>);
    EXPECT_TRUE(step.synchronised());
    std::size_t salt = 0;
    for (const std::size_t batch_size : {8, 6, 3}) {
      const Batch<float> batch(batch_size, ++salt);
      model.graph.set_step_context({.seed = 1, .step = salt});
      const GroupedStepResult result = step.step(batch.input, batch.label, batch.classes);
      EXPECT_EQ(result.samples, batch_size);
    }
    states[communicator.rank()] = state_of(model.graph);
  });
  return states;
}

TEST(GroupedBatchNorm, SameBitsOnOneTwoAndFourRanks) {
  const testing::ThreadCountGuard guard;
  set_num_threads(1);
  const std::vector<float> one = train_on_ranks(1)[0];
  for (const std::size_t ranks : {2, 4}) {
    const std::vector<std::vector<float>> states = train_on_ranks(ranks);
    for (std::size_t r = 0; r < ranks; ++r) {
      ASSERT_EQ(states[r].size(), one.size());
      for (std::size_t i = 0; i < one.size(); ++i) {
        ASSERT_EQ(states[r][i], one[i]) << ranks << " ranks, rank " << r << ", element " << i;
      }
    }
  }
  // Training moved the weights and the running statistics.
  Model<float> untrained = bn_model<float>();
  EXPECT_NE(state_of(untrained.graph), one);
}

// In double, 4 groups side by side normalise with the statistics of the whole batch: the step
// equals one plain step over the batch up to the order of the sums (about 1e-15), while each
// group's own statistics would differ in the first digits. The running statistics follow the
// whole batch's mean and unbiased variance.
TEST(GroupedBatchNorm, FourGroupsNormaliseWithTheWholeBatchsStatistics) {
  Model<double> plain = bn_model<double>(), grouped = bn_model<double>();
  SingleProcess one;
  GroupedStep<double> step(grouped.graph, *grouped.loss, one, 4, bn_graph<double>);
  for (std::size_t salt = 1; salt <= 2; ++salt) {  // the second step's shift is not 0
    const Batch<double> batch(8, salt);
    const double loss = forward_and_loss(plain.graph, *plain.loss, Tensor<double>(batch.input),
                                         batch.label, "test");
    backward_and_update(plain.graph, *plain.loss, batch.label);
    const GroupedStepResult result = step.step(batch.input, batch.label, batch.classes);
    EXPECT_NEAR(result.loss, loss, 1e-12 * std::abs(loss)) << "step " << salt;
    const std::vector<double> expected = gradients_of(plain.graph);
    const std::vector<double> got = gradients_of(grouped.graph);
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], expected[i], 1e-11 * (1 + std::abs(expected[i])))
          << "step " << salt << ", gradient element " << i;
    }
  }
  for (std::size_t node = 0; node < plain.graph.size(); ++node) {
    const auto* expected = dynamic_cast<const BatchNorm<double>*>(&plain.graph.layer(node));
    if (expected == nullptr) continue;
    const auto& got = dynamic_cast<const BatchNorm<double>&>(grouped.graph.layer(node));
    // Each BatchNorm ran its ReLU itself (Graph::set_relu_fusion), in the synchronised passes too.
    EXPECT_TRUE(got.fused_relu()) << "node " << node;
    for (std::size_t c = 0; c < expected->channels(); ++c) {
      EXPECT_NEAR(got.running_mean()[c], expected->running_mean()[c], 1e-12) << "node " << node;
      EXPECT_NEAR(got.running_var()[c], expected->running_var()[c], 1e-12) << "node " << node;
    }
  }
}

// Worked numbers: one channel, the batch {1, 2, 3, 6} in two parts {1, 2} and {3, 6}: mean 3,
// biased variance 3.5, unbiased 14 / 3. Each part is normalised with those, not its own.
TEST(GroupedBatchNorm, PartsAddUpToTheWholeBatchsMoments) {
  BatchNorm<double> first(1, /*momentum=*/0.5), second(1, 0.5);
  const Tensor<double> a({2, 1}, std::vector<double>{1, 2});
  const Tensor<double> b({2, 1}, std::vector<double>{3, 6});
  std::vector<double> sums_a(3), sums_b(3), total(3);
  first.partial_moments(a, sums_a);
  second.partial_moments(b, sums_b);
  EXPECT_EQ(sums_a, (std::vector<double>{3, 5, 2}));  // shifted by the running mean 0
  for (std::size_t i = 0; i < 3; ++i) total[i] = sums_a[i] + sums_b[i];
  first.set_batch_moments(total);
  EXPECT_DOUBLE_EQ(first.running_mean()[0], 0.5 * 3.0);
  EXPECT_DOUBLE_EQ(first.running_var()[0], 0.5 * 1.0 + 0.5 * 14.0 / 3.0);
  const Tensor<double> y = first.forward(a);
  const double deviation = std::sqrt(3.5 + 1e-5);
  EXPECT_DOUBLE_EQ(y[0], (1 - 3) / deviation);
  EXPECT_DOUBLE_EQ(y[1], (2 - 3) / deviation);
  // Backward: with the whole batch's error sums (E = 1 everywhere: sum E = 4, sum E x_hat = 0),
  // the input error is scale / sqrt(var + eps) (E - 4 / 4) = 0; the part's own gradient of the
  // shift is its own sum, 2.
  std::vector<double> error_sums(2);
  first.partial_error_sums(Tensor<double>({2, 1}, 1.0), error_sums);
  EXPECT_DOUBLE_EQ(error_sums[0], 2.0);
  first.set_batch_error_sums(std::vector<double>{4.0, 0.0});
  const Tensor<double> dx = first.backward(Tensor<double>({2, 1}, 1.0));
  EXPECT_DOUBLE_EQ(dx[0], 0.0);
  EXPECT_DOUBLE_EQ(dx[1], 0.0);
  EXPECT_DOUBLE_EQ(first.parameters()[1]->gradient[0], 2.0);
  // The next forward uses the part's own statistics again.
  const Tensor<double> own = first.forward(b);
  EXPECT_DOUBLE_EQ(own[0], -1.5 / std::sqrt(2.25 + 1e-5));
}

TEST(GroupedBatchNorm, SeveralGroupsOfARankNeedCopiesOfTheGraph) {
  Model<float> model = bn_model<float>();
  SingleProcess one;
  EXPECT_THROW(GroupedStep<float>(model.graph, *model.loss, one, 2), std::invalid_argument);
  // One group: BatchNorm's own statistics are the batch's, nothing to synchronise.
  const GroupedStep<float> single(model.graph, *model.loss, one, 1);
  EXPECT_FALSE(single.synchronised());
  // A copy of another graph.
  const auto other = [] {
    set_seed(5);
    return build_model<float>(preset("digits-cnn")).graph;
  };
  EXPECT_THROW(GroupedStep<float>(model.graph, *model.loss, one, 2, other), std::invalid_argument);
}

// A loss with Reduction::kMean: the mean over the global batch (8), not over a group (2). The
// gradient is the summed step's times 1/8 exactly, and the plain step's with the mean up to the
// order of the sums.
TEST(GroupedStepMean, IsTheMeanOverTheGlobalBatch) {
  const Batch<double> batch(8, 3);
  const auto model_with = [](Reduction reduction) {
    set_seed(11);
    Model<double> model = build_model<double>(preset("digits-cnn"));
    model.loss->set_reduction(reduction);
    return model;
  };
  Model<double> mean = model_with(Reduction::kMean), sum = model_with(Reduction::kSum),
                plain = model_with(Reduction::kMean);
  SingleProcess one;
  GroupedStep<double> mean_step(mean.graph, *mean.loss, one, 4);
  GroupedStep<double> sum_step(sum.graph, *sum.loss, one, 4);
  const GroupedStepResult mean_result = mean_step.step(batch.input, batch.label, batch.classes);
  const GroupedStepResult sum_result = sum_step.step(batch.input, batch.label, batch.classes);
  EXPECT_EQ(mean.loss->reduction(), Reduction::kMean);  // the step gives it back
  const double plain_loss =
      forward_and_loss(plain.graph, *plain.loss, Tensor<double>(batch.input), batch.label, "test");
  backward_and_update(plain.graph, *plain.loss, batch.label);
  EXPECT_EQ(mean_result.loss, sum_result.loss * (1.0 / 8.0));
  EXPECT_NEAR(mean_result.loss, plain_loss, 1e-13);
  const std::vector<double> by_mean = gradients_of(mean.graph), by_sum = gradients_of(sum.graph),
                            by_plain = gradients_of(plain.graph);
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < by_mean.size(); ++i) {
    ASSERT_EQ(by_mean[i], by_sum[i] * (1.0 / 8.0)) << "element " << i;
    ASSERT_NEAR(by_mean[i], by_plain[i], 1e-13 * (1 + std::abs(by_plain[i]))) << "element " << i;
    if (by_mean[i] != 0) ++nonzero;
  }
  EXPECT_GT(nonzero, by_mean.size() / 4);  // dead ReLUs leave the rest at 0
}

}  // namespace
}  // namespace cnnkit
