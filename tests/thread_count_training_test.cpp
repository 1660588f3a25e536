// A whole training run is the same bits on 1 to 4 threads: every kernel that splits work
// across threads either gives each element to one thread (element-wise loops, forward and input
// error of the convolutions, Adam) or sums partials over cuts that depend on the sizes only (the
// fully connected products, the convolutions' sample groups). Real digits (W2's data), a CNN with
// a strided convolution, Adam, 8 iterations.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/data/dataset.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/neural_network.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "kernels/conv2d_fast.hpp"
#include "thread_count_guard.hpp"

namespace cnnkit {
namespace {

struct TrainingRun {
  std::vector<float> losses;
  std::vector<Tensor<float>> parameters;  // every parameter's value after training
  Tensor<float> prediction;
};

TrainingRun train_on(std::size_t threads, const Dataset<float>& data) {
  set_num_threads(threads);
  set_seed(21);
  NeuralNetwork<float> net(Adam<float>(5e-3F, 0.9F, 0.999F), He<float>(), Constant<float>(0.1F));
  net.append_layer(std::make_unique<Conv<float>>(Shape{1}, Shape{1, 3, 3}, 8));
  net.append_layer(std::make_unique<ReLU<float>>());
  net.append_layer(std::make_unique<Conv<float>>(Shape{2}, Shape{8, 3, 3}, 16));
  net.append_layer(std::make_unique<ReLU<float>>());
  net.append_layer(std::make_unique<Pooling<float>>(Shape{2}, Shape{2}));
  net.append_layer(std::make_unique<Flatten<float>>());
  net.append_layer(std::make_unique<FullyConnected<float>>(64, 600));
  net.append_layer(std::make_unique<ReLU<float>>());
  net.append_layer(std::make_unique<FullyConnected<float>>(600, 10));
  net.append_layer(std::make_unique<SoftMax<float>>());
  net.set_loss_layer(std::make_unique<CrossEntropyLoss<float>>());
  net.set_data_layer(std::make_unique<BatchIterator<float>>(data, 100));
  net.train(8);
  TrainingRun run{net.loss(), {}, net.test(data.subset({0, 1, 2, 3, 4, 5, 6}).inputs)};
  for (const auto& layer : net.layers()) {
    for (const Parameter<float>* parameter : std::as_const(*layer).parameters()) {
      run.parameters.push_back(parameter->value);
    }
  }
  return run;
}

TEST(ThreadCountTraining, OneToFourThreadsGiveTheSameBits) {
  if (runtime::best_simd_level() == runtime::SimdLevel::kNone) {
    GTEST_SKIP() << "the GEMM convolution path sums one partial per thread";
  }
  const testing::ThreadCountGuard guard;
  const Dataset<float> digits = load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz");
  const TrainingRun one = train_on(1, digits);
  // Training did something: the loss fell from its first value.
  ASSERT_EQ(one.losses.size(), 8u);
  EXPECT_LT(one.losses.back(), 0.8F * one.losses.front());
  for (const std::size_t threads : {2u, 3u, 4u}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    const TrainingRun other = train_on(threads, digits);
    EXPECT_EQ(other.losses, one.losses);
    ASSERT_EQ(other.parameters.size(), one.parameters.size());
    for (std::size_t i = 0; i < one.parameters.size(); ++i) {
      EXPECT_EQ(other.parameters[i], one.parameters[i]) << "parameter " << i;
    }
    EXPECT_EQ(other.prediction, one.prediction);
  }
}

}  // namespace
}  // namespace cnnkit
