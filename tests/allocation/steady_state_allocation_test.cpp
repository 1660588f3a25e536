// The goal "no heap allocation in the steady-state training step": after a few warm-up
// steps, a training step (next batch, forward, loss, backward, every optimizer update) must not
// call malloc at all. This binary interposes malloc and friends (so it counts C++ new, the
// OpenMP runtime and BLAS alike) and is therefore its own executable, apart from cnnkit_tests.
#include <execinfo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>

#include "cnnkit/cnnkit.hpp"
#include "libc_allocator.hpp"
#include "thread_count_guard.hpp"

using cnnkit::testing::ThreadCountGuard;

namespace {

std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
// CNNKIT_ALLOC_TRACE=1 prints a backtrace of each counted allocation (to find its caller).
std::atomic<bool> tracing{false};
thread_local bool inside_trace = false;

void count_allocation() {
  if (!counting.load(std::memory_order_relaxed)) return;
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (tracing.load(std::memory_order_relaxed) && !inside_trace) {
    inside_trace = true;
    void* frames[16];
    const int depth = backtrace(frames, 16);
    backtrace_symbols_fd(frames, depth, STDERR_FILENO);
    static_cast<void>(write(STDERR_FILENO, "--\n", 3));
    inside_trace = false;
  }
}

}  // namespace

extern "C" {
void* malloc(std::size_t size) {
  count_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  count_allocation();
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) {
  count_allocation();
  return __libc_realloc(pointer, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  count_allocation();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  count_allocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** pointer, std::size_t alignment, std::size_t size) {
  count_allocation();
  *pointer = __libc_memalign(alignment, size);
  return *pointer == nullptr ? 12 /* ENOMEM */ : 0;
}
void free(void* pointer) {
  __libc_free(pointer);
}
}

namespace {

using cnnkit::Shape;
using cnnkit::Tensor;

// Mallocs made while `step` runs `steps` times.
template <typename Step>
long allocations_during(int steps, Step&& step) {
  tracing = std::getenv("CNNKIT_ALLOC_TRACE") != nullptr;
  allocations = 0;
  counting = true;
  for (int i = 0; i < steps; ++i) step();
  counting = false;
  return allocations.load();
}

// Random images and one-hot labels, the same every call: a data layer that recycles the
// buffers the network hands back (what a data layer must do for an allocation-free step).
template <typename T>
class FixedBatches : public cnnkit::DataLayer<T> {
 public:
  FixedBatches(Shape input_shape, std::size_t classes)
      : input_(cnnkit::UniformRandom<T>().initialize(input_shape, 1, 1)),
        label_(Shape{input_shape[0], classes}) {
    for (std::size_t b = 0; b < input_shape[0]; ++b) label_(b, b % classes) = T(1);
  }
  cnnkit::Batch<T> next() override {
    cnnkit::Batch<T> batch = buffers_.take(input_.shape(), label_.shape());
    std::copy(input_.begin(), input_.end(), batch.input.begin());
    std::copy(label_.begin(), label_.end(), batch.label.begin());
    return batch;
  }
  void recycle(cnnkit::Batch<T>&& spent) override { buffers_.give(std::move(spent)); }

 private:
  Tensor<T> input_;
  Tensor<T> label_;
  cnnkit::BatchBuffers<T> buffers_;
};

// W1's network (WORKLOADS.md), batch 64, 28x28 images, with a given optimizer.
cnnkit::NeuralNetwork<float> w1_network(const cnnkit::Optimizer<float>& optimizer) {
  cnnkit::NeuralNetwork<float> net(optimizer, cnnkit::He<float>(), cnnkit::Constant<float>(0.1f));
  net.append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{1, 1}, Shape{1, 5, 5}, 6));
  net.append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net.append_layer(std::make_unique<cnnkit::Pooling<float>>(Shape{2, 2}, Shape{2, 2}));
  net.append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{1, 1}, Shape{6, 5, 5}, 16));
  net.append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net.append_layer(std::make_unique<cnnkit::Pooling<float>>(Shape{2, 2}, Shape{2, 2}));
  net.append_layer(std::make_unique<cnnkit::Flatten<float>>());
  net.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(784, 120));
  net.append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(120, 84));
  net.append_layer(std::make_unique<cnnkit::ReLU<float>>());
  net.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(84, 10));
  net.append_layer(std::make_unique<cnnkit::SoftMax<float>>());
  net.set_loss_layer(std::make_unique<cnnkit::CrossEntropyLoss<float>>());
  net.set_data_layer(std::make_unique<FixedBatches<float>>(Shape{64, 1, 28, 28}, 10));
  return net;
}

// Mallocs of `steps` training steps after three warm-up steps (buffers, workspaces, optimizer
// state and OpenMP's team all exist by then).
template <typename T>
long steady_state_allocations(cnnkit::NeuralNetwork<T>& net, int steps) {
  for (int i = 0; i < 3; ++i) {
    net.forward();
    net.backward();
  }
  return allocations_during(steps, [&] {
    net.forward();
    net.backward();
  });
}

TEST(SteadyStateAllocation, W1TrainingStepAllocatesNothingOnAnyThreadCount) {
  for (const std::size_t threads : {1, 2, 4}) {
    const ThreadCountGuard guard;
    cnnkit::set_num_threads(threads);
    auto net = w1_network(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f));
    EXPECT_EQ(steady_state_allocations(net, 5), 0) << threads << " thread(s)";
  }
}

TEST(SteadyStateAllocation, EveryOptimizerUpdatesWithoutAllocating) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(2);
  auto sgd = w1_network(cnnkit::Sgd<float>(1e-3f));
  EXPECT_EQ(steady_state_allocations(sgd, 3), 0) << "Sgd";
  auto momentum = w1_network(cnnkit::SgdWithMomentum<float>(1e-3f, 0.9f));
  EXPECT_EQ(steady_state_allocations(momentum, 3), 0) << "SgdWithMomentum";
}

TEST(SteadyStateAllocation, StridedAnd1DConvolutionsWithL2LossAllocateNothing) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(2);
  // 2-D, stride 2 -> flatten -> FC -> L2 loss.
  cnnkit::NeuralNetwork<float> strided(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f),
                                       cnnkit::He<float>(), cnnkit::Constant<float>(0.1f));
  strided.append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{2, 2}, Shape{3, 3, 3}, 8));
  strided.append_layer(std::make_unique<cnnkit::ReLU<float>>());
  strided.append_layer(std::make_unique<cnnkit::Flatten<float>>());
  strided.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(8 * 8 * 8, 5));
  strided.set_loss_layer(std::make_unique<cnnkit::L2Loss<float>>());
  strided.set_data_layer(std::make_unique<FixedBatches<float>>(Shape{16, 3, 16, 16}, 5));
  EXPECT_EQ(steady_state_allocations(strided, 3), 0) << "2-D, stride 2";
  // 1-D convolution over (batch, channels, y).
  cnnkit::NeuralNetwork<float> one_d(cnnkit::SgdWithMomentum<float>(1e-3f, 0.9f),
                                     cnnkit::Xavier<float>(), cnnkit::Constant<float>(0.0f));
  one_d.append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{1}, Shape{2, 5}, 4));
  one_d.append_layer(std::make_unique<cnnkit::ReLU<float>>());
  one_d.append_layer(std::make_unique<cnnkit::Flatten<float>>());
  one_d.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(4 * 30, 3));
  one_d.append_layer(std::make_unique<cnnkit::SoftMax<float>>());
  one_d.set_loss_layer(std::make_unique<cnnkit::CrossEntropyLoss<float>>());
  one_d.set_data_layer(std::make_unique<FixedBatches<float>>(Shape{8, 2, 30}, 3));
  EXPECT_EQ(steady_state_allocations(one_d, 3), 0) << "1-D";
}

TEST(SteadyStateAllocation, TheFusedSoftmaxCrossEntropyLossAllocatesNothing) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(2);
  // Logits from the last FullyConnected straight into the fused loss, mean over the batch.
  cnnkit::NeuralNetwork<float> net(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f),
                                   cnnkit::He<float>(), cnnkit::Constant<float>(0.1f));
  net.append_layer(std::make_unique<cnnkit::Flatten<float>>());
  net.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(3 * 8 * 8, 7));
  net.set_loss_layer(
      std::make_unique<cnnkit::SoftmaxCrossEntropyLoss<float>>(cnnkit::Reduction::kMean));
  net.set_data_layer(std::make_unique<FixedBatches<float>>(Shape{16, 3, 8, 8}, 7));
  EXPECT_EQ(steady_state_allocations(net, 3), 0);
}

TEST(SteadyStateAllocation, BatchNormPoolingsAndActivationsAllocateNothing) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(2);
  // 2-D: batch norm per channel and per feature, every new activation, all three poolings.
  cnnkit::NeuralNetwork<float> two_d(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f),
                                     cnnkit::He<float>(), cnnkit::Constant<float>(0.1f));
  two_d.append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{1}, Shape{1, 3, 3}, 4));
  two_d.append_layer(std::make_unique<cnnkit::BatchNorm<float>>(4));
  two_d.append_layer(std::make_unique<cnnkit::LeakyReLU<float>>(0.1f));
  two_d.append_layer(std::make_unique<cnnkit::AveragePooling<float>>(Shape{2}, Shape{2}));
  two_d.append_layer(std::make_unique<cnnkit::TanH<float>>());
  two_d.append_layer(std::make_unique<cnnkit::Pooling<float>>(Shape{2}, Shape{2}));
  two_d.append_layer(std::make_unique<cnnkit::GlobalAveragePooling<float>>());
  two_d.append_layer(std::make_unique<cnnkit::BatchNorm<float>>(4));
  two_d.append_layer(std::make_unique<cnnkit::Sigmoid<float>>());
  two_d.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(4, 3));
  two_d.append_layer(std::make_unique<cnnkit::SoftMax<float>>());
  two_d.set_loss_layer(std::make_unique<cnnkit::CrossEntropyLoss<float>>());
  two_d.set_data_layer(std::make_unique<FixedBatches<float>>(Shape{16, 1, 12, 12}, 3));
  EXPECT_EQ(steady_state_allocations(two_d, 3), 0) << "2-D";
  // 1-D: batch norm per channel, max and average pooling over (batch, channels, length).
  cnnkit::NeuralNetwork<float> one_d(cnnkit::Sgd<float>(1e-3f), cnnkit::He<float>(),
                                     cnnkit::Constant<float>(0.1f));
  one_d.append_layer(std::make_unique<cnnkit::Conv<float>>(Shape{1}, Shape{2, 5}, 4));
  one_d.append_layer(std::make_unique<cnnkit::BatchNorm<float>>(4));
  one_d.append_layer(std::make_unique<cnnkit::Pooling<float>>(Shape{2}, Shape{2}));
  one_d.append_layer(std::make_unique<cnnkit::AveragePooling<float>>(Shape{3}, Shape{3}));
  one_d.append_layer(std::make_unique<cnnkit::Flatten<float>>());
  one_d.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(4 * 5, 3));
  one_d.append_layer(std::make_unique<cnnkit::SoftMax<float>>());
  one_d.set_loss_layer(std::make_unique<cnnkit::CrossEntropyLoss<float>>());
  one_d.set_data_layer(std::make_unique<FixedBatches<float>>(Shape{8, 2, 30}, 3));
  EXPECT_EQ(steady_state_allocations(one_d, 3), 0) << "1-D";
}

TEST(SteadyStateAllocation, DropoutAllocatesNothing) {
  const ThreadCountGuard guard;
  for (const std::size_t threads : {1, 2}) {
    cnnkit::set_num_threads(threads);
    cnnkit::NeuralNetwork<float> net(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f),
                                     cnnkit::He<float>(), cnnkit::Constant<float>(0.1f));
    net.append_layer(std::make_unique<cnnkit::Flatten<float>>());
    net.append_layer(std::make_unique<cnnkit::Dropout<float>>(0.2));
    net.append_layer(std::make_unique<cnnkit::FullyConnected<float>>(2 * 64 * 64, 10));
    net.append_layer(std::make_unique<cnnkit::Dropout<float>>(0.5));
    net.append_layer(std::make_unique<cnnkit::SoftMax<float>>());
    net.set_loss_layer(std::make_unique<cnnkit::CrossEntropyLoss<float>>());
    // 2^17 elements: the masks are drawn on a team.
    net.set_data_layer(std::make_unique<FixedBatches<float>>(Shape{16, 2, 64, 64}, 10));
    EXPECT_EQ(steady_state_allocations(net, 3), 0) << threads << " thread(s)";
  }
}

// double takes the im2col + BLAS convolution path (the SIMD kernels are float only).
TEST(SteadyStateAllocation, TheIm2colPathOfDoubleAllocatesNothing) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(2);
  cnnkit::NeuralNetwork<double> net(cnnkit::Adam<double>(1e-3, 0.9, 0.999, 1e-8),
                                    cnnkit::He<double>(), cnnkit::Constant<double>(0.1));
  net.append_layer(std::make_unique<cnnkit::Conv<double>>(Shape{1, 1}, Shape{1, 3, 3}, 6));
  net.append_layer(std::make_unique<cnnkit::ReLU<double>>());
  net.append_layer(std::make_unique<cnnkit::Pooling<double>>(Shape{2, 2}, Shape{2, 2}));
  net.append_layer(std::make_unique<cnnkit::Flatten<double>>());
  net.append_layer(std::make_unique<cnnkit::FullyConnected<double>>(6 * 6 * 6, 4));
  net.append_layer(std::make_unique<cnnkit::SoftMax<double>>());
  net.set_loss_layer(std::make_unique<cnnkit::CrossEntropyLoss<double>>());
  net.set_data_layer(std::make_unique<FixedBatches<double>>(Shape{16, 1, 12, 12}, 4));
  EXPECT_EQ(steady_state_allocations(net, 3), 0);
}

// The counter counts: a data layer that makes new tensors for every batch (and ignores the
// buffers handed back) costs allocations every step.
class AllocatingBatches : public cnnkit::DataLayer<float> {
 public:
  cnnkit::Batch<float> next() override {
    Tensor<float> label(Shape{64, 10});
    for (std::size_t b = 0; b < 64; ++b) label(b, b % 10) = 1.0f;
    return {Tensor<float>(Shape{64, 1, 28, 28}, 0.5f), std::move(label)};
  }
};

TEST(SteadyStateAllocation, ADataLayerThatDoesNotRecycleIsCounted) {
  auto net = w1_network(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f));
  net.set_data_layer(std::make_unique<AllocatingBatches>());
  // Two tensors per step (input and label); the layers' own buffers still circulate.
  EXPECT_EQ(steady_state_allocations(net, 4), 8);
}

// Inference (the testing phase) recycles its buffers too: repeated predictions of one batch shape
// allocate nothing once warm, except the prediction handed to the caller.
TEST(SteadyStateAllocation, RepeatedInferenceAllocatesOnlyThePrediction) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(1);
  auto net = w1_network(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f));
  const Tensor<float> input = cnnkit::UniformRandom<float>().initialize(Shape{64, 1, 28, 28}, 1, 1);
  for (int i = 0; i < 3; ++i) (void)net.test(input);
  EXPECT_EQ(allocations_during(4, [&] { (void)net.test(input); }), 4);
  // Between training steps too.
  steady_state_allocations(net, 1);
  for (int i = 0; i < 3; ++i) (void)net.test(input);
  EXPECT_EQ(allocations_during(4, [&] { (void)net.test(input); }), 4);
}

// A residual block: x -> conv -> relu -> conv, + x, Add -> relu -> flatten -> fully connected ->
// softmax. The input is read twice (a copy for the first conv), its errors summed.
cnnkit::Graph<float> residual_graph() {
  cnnkit::Graph<float> graph;
  cnnkit::He<float> weights;
  cnnkit::Constant<float> bias(0.1f);
  const auto trained = [&](std::unique_ptr<cnnkit::Layer<float>> layer) {
    layer->initialize(weights, bias);
    layer->set_optimizer(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f));
    return layer;
  };
  graph.add("stem", trained(std::make_unique<cnnkit::Conv<float>>(Shape{1, 1}, Shape{1, 3, 3}, 4)),
            {"input"});
  graph.add("conv1", trained(std::make_unique<cnnkit::Conv<float>>(Shape{1, 1}, Shape{4, 3, 3}, 4)),
            {"stem"});
  graph.add("relu1", std::make_unique<cnnkit::ReLU<float>>(), {"conv1"});
  graph.add("conv2", trained(std::make_unique<cnnkit::Conv<float>>(Shape{1, 1}, Shape{4, 3, 3}, 4)),
            {"relu1"});
  graph.add("add", std::make_unique<cnnkit::Add<float>>(), {"conv2", "stem"});
  graph.add("relu2", std::make_unique<cnnkit::ReLU<float>>(), {"add"});
  graph.add("flatten", std::make_unique<cnnkit::Flatten<float>>(), {"relu2"});
  graph.add("fc", trained(std::make_unique<cnnkit::FullyConnected<float>>(4 * 12 * 12, 10)),
            {"flatten"});
  graph.add("softmax", std::make_unique<cnnkit::SoftMax<float>>(), {"fc"});
  return graph;
}

TEST(SteadyStateAllocation, AGraphWithABranchTrainsAndInfersWithoutAllocating) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(2);
  cnnkit::Graph<float> graph = residual_graph();
  cnnkit::CrossEntropyLoss<float> loss;
  FixedBatches<float> data(Shape{16, 1, 12, 12}, 10);
  cnnkit::Batch<float> batch;
  const auto step = [&] {
    batch = data.next();
    (void)cnnkit::forward_and_loss(graph, loss, std::move(batch.input), batch.label, "test");
    Tensor<float> spent = cnnkit::backward_and_update(graph, loss, batch.label);
    data.recycle(cnnkit::Batch<float>{std::move(spent), std::move(batch.label)});
  };
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(allocations_during(4, step), 0);
  const Tensor<float> input = cnnkit::UniformRandom<float>().initialize(Shape{16, 1, 12, 12}, 1, 1);
  for (int i = 0; i < 3; ++i) (void)graph.infer(input);
  EXPECT_EQ(allocations_during(4, [&] { (void)graph.infer(input); }), 4);
}

// The tool's training loop (cnnkit::train on a Model, what `cnnkit train` runs) over 640 random
// 28x28 images in batches of 64: the mallocs between the end of batch 4 and the end of batch 9 of
// the epoch, those of five steps.
long training_loop_allocations(const cnnkit::ModelDescription& description,
                               cnnkit::TrainOptions options, cnnkit::TrainingState state) {
  cnnkit::Model<float> model = cnnkit::build_model<float>(description);
  cnnkit::Dataset<float> train_set;
  train_set.inputs = cnnkit::UniformRandom<float>().initialize(Shape{640, 1, 28, 28}, 1, 1);
  for (std::size_t i = 0; i < 640; ++i) train_set.labels.push_back(i % 10);
  for (int c = 0; c < 10; ++c) train_set.class_names.push_back(std::to_string(c));

  options.epochs = 1;
  options.batch_size = 64;
  cnnkit::TrainCallbacks<float> callbacks;
  long counted = -1;
  std::size_t batches = 0;
  callbacks.on_batch = [&](const cnnkit::BatchProgress& progress) {
    batches = progress.batch;
    if (progress.batch == 4) {
      allocations = 0;
      counting = true;
    } else if (progress.batch == 9) {
      counting = false;
      counted = allocations.load();
    }
  };
  cnnkit::train(model, train_set, cnnkit::Dataset<float>{}, options, state, callbacks);
  EXPECT_EQ(batches, 10u);
  return counted;
}

TEST(SteadyStateAllocation, TheToolsTrainingLoopAllocatesNothingBetweenBatches) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(2);
  EXPECT_EQ(training_loop_allocations(cnnkit::preset("fashion-lenet"), {}, {}), 0);
}

// The same loop with dropout in the model and the training images augmented (crop and flip).
TEST(SteadyStateAllocation, TheTrainingLoopWithDropoutAndAugmentationAllocatesNothing) {
  const ThreadCountGuard guard;
  cnnkit::set_num_threads(2);
  cnnkit::ModelDescription description = cnnkit::preset("fashion-lenet");
  cnnkit::LayerSpec dropout;
  dropout.type = "Dropout";
  dropout.p = 0.3;
  description.layers.insert(description.layers.end() - 2, dropout);
  cnnkit::TrainOptions options;
  options.augmentation.crop_padding = 2;
  options.augmentation.flip_probability = 0.5;
  cnnkit::TrainingState state;
  state.seed = 3;
  EXPECT_EQ(training_loop_allocations(description, options, state), 0);
}

}  // namespace
