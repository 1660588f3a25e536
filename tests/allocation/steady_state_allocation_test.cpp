// The goal "no heap allocation in the steady-state training step": after a few warm-up
// steps, a training step (next batch, forward, loss, backward, every optimizer update) must not
// call malloc at all. This binary interposes malloc and friends (so it counts C++ new, the
// OpenMP runtime and BLAS alike) and is therefore its own executable, apart from cnnkit_tests.
#include <dlfcn.h>
#include <execinfo.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cnnkit/cnnkit.hpp"
#include "thread_count_guard.hpp"

using cnnkit::testing::ThreadCountGuard;

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* pointer);
}

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
class FixedBatches : public cnnkit::DataLayer<float> {
 public:
  FixedBatches(Shape input_shape, std::size_t classes)
      : input_(cnnkit::UniformRandom<float>().initialize(input_shape, 1, 1)),
        label_(Shape{input_shape[0], classes}) {
    for (std::size_t b = 0; b < input_shape[0]; ++b) label_(b, b % classes) = 1.0f;
  }
  cnnkit::Batch<float> next() override {
    cnnkit::Batch<float> batch{spare_input_.take(input_.shape()),
                               spare_label_.take(label_.shape())};
    std::copy(input_.begin(), input_.end(), batch.input.begin());
    std::copy(label_.begin(), label_.end(), batch.label.begin());
    return batch;
  }
  void recycle(cnnkit::Batch<float>&& spent) override {
    spare_input_.give(std::move(spent.input));
    spare_label_.give(std::move(spent.label));
  }

 private:
  Tensor<float> input_;
  Tensor<float> label_;
  cnnkit::SpareBuffer<float> spare_input_;
  cnnkit::SpareBuffer<float> spare_label_;
};

// W1's network (WORKLOADS.md), Adam, batch 64, 28x28 images.
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
  net.set_data_layer(std::make_unique<FixedBatches>(Shape{64, 1, 28, 28}, 10));
  return net;
}

TEST(SteadyStateAllocation, W1TrainingStepAllocatesNothing) {
  for (const int threads : {1, 2}) {
    const ThreadCountGuard guard;
    cnnkit::set_num_threads(static_cast<std::size_t>(threads));
    auto net = w1_network(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f, 1e-8f));
    // Warm-up: buffers, workspaces, optimizer state, OpenMP's team.
    for (int i = 0; i < 3; ++i) {
      net.forward();
      net.backward();
    }
    EXPECT_EQ(allocations_during(5,
                                 [&] {
                                   net.forward();
                                   net.backward();
                                 }),
              0)
        << threads << " thread(s)";
  }
}

}  // namespace
