// The fixed-order sum of data-parallel training (fixed_tree_sum.hpp) and the grouped training
// step built on it (grouped_step.hpp), on one process; tests/mpi_test.sh runs them on 2 and 4.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cnnkit/fixed_tree_sum.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/grouped_step.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/training_step.hpp"
#include "thread_ranks.hpp"

namespace cnnkit {
namespace {

TEST(FixedTreeSum, CoversARangeWithTheLargestAlignedSubtrees) {
  using R = std::vector<TreeRange>;
  EXPECT_EQ(covering_subtrees(0, 8), (R{{0, 8}}));
  EXPECT_EQ(covering_subtrees(2, 7), (R{{2, 4}, {4, 6}, {6, 7}}));
  EXPECT_EQ(covering_subtrees(3, 5), (R{{3, 4}, {4, 5}}));
  EXPECT_EQ(covering_subtrees(0, 6), (R{{0, 4}, {4, 6}}));
  EXPECT_TRUE(covering_subtrees(4, 4).empty());
}

TEST(FixedTreeSum, GroupsGoToRanksInContiguousRuns) {
  const GroupShare first = group_share(8, 3, 0), last = group_share(8, 3, 2);
  EXPECT_EQ(first.first_group, 0u);
  EXPECT_EQ(first.last_group, 2u);
  EXPECT_EQ(last.first_group, 5u);
  EXPECT_EQ(last.last_group, 8u);
  EXPECT_EQ(last.subtrees, (std::vector<TreeRange>{{5, 6}, {6, 8}}));
}

// (1e8 + 1) + (-1e8 + 1) is 0 in float (each 1 is lost), while the chain ((1e8 + 1) - 1e8) + 1
// is 1: the tree's order is visible in the result.
TEST(FixedTreeSum, AddsPairsUpTheTreeNotAlongAChain) {
  std::vector<float> values{1e8f, 1.0f, -1e8f, 1.0f};
  std::vector<char> present(4, 1);
  reduce_up_the_tree(values.data(), 1, 4, present);
  EXPECT_EQ(values[0], 0.0f);
  EXPECT_EQ(present[0], 1);
}

TEST(FixedTreeSum, AnAbsentLeafLeavesItsSiblingAsItIs) {
  // Leaf 1 has no samples (its slot holds garbage): the root is g0 + (g2 + g3).
  std::vector<float> values{1.0f, 1e30f, 1e8f, -1e8f};
  std::vector<char> present{1, 0, 1, 1};
  reduce_up_the_tree(values.data(), 1, 4, present);
  EXPECT_EQ(values[0], 1.0f);
  std::vector<float> none{5.0f, 6.0f};
  std::vector<char> absent{0, 0};
  reduce_up_the_tree(none.data(), 1, 2, absent);
  EXPECT_EQ(absent[0], 0);
}

// 7 groups on 1 to 4 ranks (threads): shares of 1, 2 or 3 groups, so that some ranks send several
// subtrees and others one; a batch with groups 3 and 6 empty, then a full one with the same
// buffers, one whose empty groups are left halves (as runtime::share leaves the first groups of
// a batch smaller than the group count empty), then one with no samples at all. Values that show the order: every rank's result is
// one process's bit for bit.
TEST(FixedTreeSum, AnyRankCountGivesOneProcesssBits) {
  constexpr std::size_t kGroups = 7, kLength = 13;
  const auto leaf = [](std::size_t group, std::size_t i, std::size_t call) {
    const float big = (group % 2 == 0 ? 1e8f : -1e8f);
    return (i + group + call) % 3 == 0 ? big : 1.0f + 0.25f * static_cast<float>(group + i);
  };
  const std::vector<std::vector<char>> batches = {
      {1, 1, 1, 0, 1, 1, 0}, {1, 1, 1, 1, 1, 1, 1}, {0, 1, 0, 1, 0, 1, 1}, {0, 0, 0, 0, 0, 0, 0}};
  const auto sums_on = [&](std::size_t ranks) {
    std::vector<std::vector<std::vector<float>>> results(ranks);
    testing::ThreadRanks threads(ranks);
    threads.run([&](Communicator& communicator) {
      const GroupShare mine = group_share(kGroups, ranks, communicator.rank());
      TreeSumBuffers<float> buffers;
      for (std::size_t call = 0; call < batches.size(); ++call) {
        std::vector<float> leaves;
        for (std::size_t g = mine.first_group; g < mine.last_group; ++g) {
          for (std::size_t i = 0; i < kLength; ++i) leaves.push_back(leaf(g, i, call));
        }
        std::vector<float> result(kLength, -7.0f);
        fixed_tree_sum<float>(communicator, kLength, leaves, batches[call], result, buffers);
        results[communicator.rank()].push_back(result);
      }
    });
    return results;
  };
  const std::vector<std::vector<float>> one = sums_on(1)[0];
  EXPECT_EQ(one[3], std::vector<float>(kLength, 0.0f));  // no samples: zeros
  for (const std::size_t ranks : {2u, 3u, 4u}) {
    const auto results = sums_on(ranks);
    for (std::size_t r = 0; r < ranks; ++r) {
      EXPECT_EQ(results[r], one) << ranks << " ranks, rank " << r;
    }
  }
}

TEST(FixedTreeSum, OneProcessSumsItsLeavesInTheTree) {
  SingleProcess one;
  // Three groups of two elements: the root is (g0 + g1) + g2.
  std::vector<float> leaves{1e8f, 1.0f, 1.0f, 2.0f, -1e8f, 3.0f};
  std::vector<float> result(2);
  fixed_tree_sum<float>(one, 2, leaves, {1, 1, 1}, result);
  EXPECT_EQ(result[0], (1e8f + 1.0f) + -1e8f);  // 0: the 1 is lost in the first pair
  EXPECT_EQ(result[1], 6.0f);
  std::vector<float> two_leaves(4);
  EXPECT_THROW(fixed_tree_sum<float>(one, 2, two_leaves, {1, 1, 1}, result), std::invalid_argument);
}

// A batch of 8 digits-sized samples and their labels, the same every time.
struct SmallBatch {
  Tensor<float> input{Shape{8, 1, 8, 8}};
  Tensor<float> label{Shape{8, 10}};
  std::vector<std::size_t> classes;
  SmallBatch() {
    for (std::size_t i = 0; i < input.size(); ++i) {
      input.data()[i] = static_cast<float>((i * 37) % 17) / 16.0f;
    }
    for (std::size_t n = 0; n < 8; ++n) {
      classes.push_back((n * 3) % 10);
      label(n, classes.back()) = 1.0f;
    }
  }
};

Model<float> digits_model() {
  set_seed(11);
  return build_model<float>(preset("digits-cnn"));
}

std::vector<float> all_gradients(Model<float>& model) {
  std::vector<float> gradients;
  for (Layer<float>* layer : model.graph.layers()) {
    for (Parameter<float>* parameter : layer->parameters()) {
      gradients.insert(gradients.end(), parameter->gradient.begin(), parameter->gradient.end());
    }
  }
  return gradients;
}

std::vector<float> all_values(Model<float>& model) {
  std::vector<float> values;
  for (Layer<float>* layer : model.graph.layers()) {
    for (Parameter<float>* parameter : layer->parameters()) {
      values.insert(values.end(), parameter->value.begin(), parameter->value.end());
    }
  }
  return values;
}

Tensor<float> rows(const Tensor<float>& batch, std::size_t first, std::size_t last) {
  Shape shape = batch.shape();
  const std::size_t row = batch.size() / shape[0];
  shape[0] = last - first;
  Tensor<float> part(shape);
  std::memcpy(part.data(), batch.data() + first * row, (last - first) * row * sizeof(float));
  return part;
}

TEST(GroupedStep, OneGroupOnOneProcessIsThePlainStepBitForBit) {
  const SmallBatch batch;
  Model<float> plain = digits_model(), grouped = digits_model();
  const float loss =
      forward_and_loss(plain.graph, *plain.loss, Tensor<float>(batch.input), batch.label, "test");
  backward_and_update(plain.graph, *plain.loss, batch.label);
  SingleProcess one;
  GroupedStep<float> step(grouped.graph, *grouped.loss, one, 1);
  const GroupedStepResult result = step.step(batch.input, batch.label, batch.classes);
  EXPECT_EQ(result.loss, static_cast<double>(loss));
  EXPECT_EQ(result.samples, 8u);
  EXPECT_EQ(all_values(plain), all_values(grouped));
}

TEST(GroupedStep, FourGroupsSumTheirGradientsInTheTree) {
  const SmallBatch batch;
  // Each group of two samples through a model of its own (the weights before the step).
  std::vector<std::vector<float>> group_gradients;
  for (std::size_t g = 0; g < 4; ++g) {
    Model<float> model = digits_model();
    const Tensor<float> label = rows(batch.label, 2 * g, 2 * g + 2);
    forward_and_loss(model.graph, *model.loss, rows(batch.input, 2 * g, 2 * g + 2), label, "test");
    model.graph.backward(model.loss->backward(label));
    group_gradients.push_back(all_gradients(model));
  }
  Model<float> grouped = digits_model();
  SingleProcess one;
  GroupedStep<float> step(grouped.graph, *grouped.loss, one, 4);
  step.step(batch.input, batch.label, batch.classes);
  const std::vector<float> summed = all_gradients(grouped);
  ASSERT_EQ(summed.size(), group_gradients[0].size());
  std::size_t differing_from_chain = 0;
  for (std::size_t i = 0; i < summed.size(); ++i) {
    const float tree = (group_gradients[0][i] + group_gradients[1][i]) +
                       (group_gradients[2][i] + group_gradients[3][i]);
    const float chain = ((group_gradients[0][i] + group_gradients[1][i]) + group_gradients[2][i]) +
                        group_gradients[3][i];
    ASSERT_EQ(summed[i], tree) << "element " << i;
    if (summed[i] != chain) ++differing_from_chain;
  }
  // The tree and the chain differ somewhere: the comparison above could tell them apart.
  EXPECT_GT(differing_from_chain, 0u);
}

TEST(GroupedStep, PassesAStopRequestOnWithTheGradients) {
  const SmallBatch batch;
  Model<float> model = digits_model();
  SingleProcess one;
  GroupedStep<float> step(model.graph, *model.loss, one, 4);
  EXPECT_FALSE(step.step(batch.input, batch.label, batch.classes).stop);
  EXPECT_TRUE(step.step(batch.input, batch.label, batch.classes, true).stop);
}

TEST(GroupedStep, RefusesNoGroups) {
  Model<float> model = digits_model();
  SingleProcess one;
  EXPECT_THROW(GroupedStep<float>(model.graph, *model.loss, one, 0), std::invalid_argument);
}

// Records, for each training-phase forward pass, the index in the global batch of its first
// sample (what Dropout keys its masks by).
class FirstSampleRecorder : public Layer<float> {
 public:
  using Layer<float>::forward;
  using Layer<float>::backward;
  Tensor<float> forward(const Tensor<float>& input) override {
    seen.push_back(context_.first_sample);
    return input;
  }
  Tensor<float> backward(const Tensor<float>& error_tensor) override { return error_tensor; }
  void set_step_context(const StepContext& context) override { context_ = context; }

  std::vector<std::uint64_t> seen;

 private:
  StepContext context_{};
};

// Each group runs as a batch of its own, but its samples keep their places in the global batch,
// so a random draw keyed by them is what one plain step over the whole batch would draw.
TEST(GroupedStep, EachGroupKeepsItsPlaceInTheGlobalBatch) {
  const SmallBatch batch;
  FirstSampleRecorder recorder;
  Graph<float> graph;
  graph.append(std::make_unique<Flatten<float>>());
  graph.append(recorder);
  auto fully_connected = std::make_unique<FullyConnected<float>>(64, 10);
  fully_connected->set_optimizer(Sgd<float>(0.01f));
  graph.append(std::move(fully_connected));
  graph.append(std::make_unique<SoftMax<float>>());
  CrossEntropyLoss<float> loss;
  SingleProcess one;
  GroupedStep<float> step(graph, loss, one, 4);
  graph.set_step_context({.seed = 3, .step = 7, .first_sample = 100});
  (void)step.step(batch.input, batch.label, batch.classes);
  // 8 samples in 4 groups of 2, after the 100 samples of the ranks before (as under mpirun).
  EXPECT_EQ(recorder.seen, (std::vector<std::uint64_t>{100, 102, 104, 106}));
  EXPECT_EQ(graph.step_context().first_sample, 100u);  // the step's own context comes back
  EXPECT_EQ(graph.step_context().step, 7u);
}

}  // namespace
}  // namespace cnnkit
