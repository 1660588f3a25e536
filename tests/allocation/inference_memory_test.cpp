// Inference by liveness: the activation memory an inference holds at its peak is the largest set
// of values alive at once, not the sum of every node's output. This binary interposes malloc and
// free to follow the bytes allocated (so it is an executable of its own, like the steady-state
// allocation test) and runs a deep residual graph of layers that write a new output and keep no
// workspace (1x1 average poolings, Add), so that what an inference allocates is activations.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "cnnkit/cnnkit.hpp"
#include "libc_allocator.hpp"
#include "thread_count_guard.hpp"

namespace {

std::atomic<long> live_bytes{0};
std::atomic<long> peak_bytes{0};

void* note_allocation(void* pointer) {
  if (pointer == nullptr) return pointer;
  const long now = live_bytes.fetch_add(static_cast<long>(malloc_usable_size(pointer))) +
                   static_cast<long>(malloc_usable_size(pointer));
  long peak = peak_bytes.load();
  while (now > peak && !peak_bytes.compare_exchange_weak(peak, now)) {
  }
  return pointer;
}

void note_free(void* pointer) {
  if (pointer != nullptr) live_bytes.fetch_sub(static_cast<long>(malloc_usable_size(pointer)));
}

}  // namespace

extern "C" {
void* malloc(std::size_t size) {
  return note_allocation(__libc_malloc(size));
}
void* calloc(std::size_t count, std::size_t size) {
  return note_allocation(__libc_calloc(count, size));
}
void* realloc(void* pointer, std::size_t size) {
  note_free(pointer);
  return note_allocation(__libc_realloc(pointer, size));
}
void* memalign(std::size_t alignment, std::size_t size) {
  return note_allocation(__libc_memalign(alignment, size));
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  return note_allocation(__libc_memalign(alignment, size));
}
int posix_memalign(void** pointer, std::size_t alignment, std::size_t size) {
  *pointer = note_allocation(__libc_memalign(alignment, size));
  return *pointer == nullptr ? 12 /* ENOMEM */ : 0;
}
void free(void* pointer) {
  note_free(pointer);
  __libc_free(pointer);
}
}

namespace {

using cnnkit::Shape;
using cnnkit::Tensor;

constexpr std::size_t kBatch = 64;
constexpr std::size_t kChannels = 16;
constexpr std::size_t kSide = 8;
constexpr std::size_t kBlocks = 16;

// input -> 16 x [a -> relu -> b, + the block's input, Add -> relu] -> global average -> softmax,
// where a and b are 1x1 average poolings (each writes a new output, as a 1x1 conv would).
cnnkit::Graph<float> deep_residual_graph() {
  cnnkit::Graph<float> graph;
  const auto pass = [] {
    return std::make_unique<cnnkit::AveragePooling<float>>(Shape{1, 1}, Shape{1, 1});
  };
  std::string previous = "input";
  for (std::size_t b = 0; b < kBlocks; ++b) {
    const std::string block = "block" + std::to_string(b);
    graph.add(block + ".a", pass(), {previous});
    graph.add(block + ".relu_a", std::make_unique<cnnkit::ReLU<float>>(), {block + ".a"});
    graph.add(block + ".b", pass(), {block + ".relu_a"});
    graph.add(block + ".add", std::make_unique<cnnkit::Add<float>>(), {block + ".b", previous});
    graph.add(block + ".relu", std::make_unique<cnnkit::ReLU<float>>(), {block + ".add"});
    previous = block + ".relu";
  }
  graph.add("pool", std::make_unique<cnnkit::GlobalAveragePooling<float>>(), {previous});
  graph.add("softmax", std::make_unique<cnnkit::SoftMax<float>>(), {"pool"});
  return graph;
}

// The bytes the allocator holds at the peak of `call`, above what it held before.
template <typename Call>
long peak_bytes_above_start(Call&& call) {
  const long start = live_bytes.load();
  peak_bytes = start;
  call();
  return peak_bytes.load() - start;
}

TEST(InferenceMemory, PeakIsTheLargestLiveSetNotTheSumOfActivations) {
  const cnnkit::testing::ThreadCountGuard guard;
  cnnkit::set_num_threads(1);
  cnnkit::Graph<float> graph = deep_residual_graph();
  graph.build();
  const Tensor<float> input =
      cnnkit::UniformRandom<float>().initialize(Shape{kBatch, kChannels, kSide, kSide}, 1, 1);
  const long activation = static_cast<long>(kBatch * kChannels * kSide * kSide * sizeof(float));
  // The values alive at once at most: a block's input (read again by its Add), a's output
  // (rectified in place) and b's output; then the Add's output while its inputs are freed.
  const long largest_live_set = 3 * activation;
  // What each node's output kept for itself would cost: a, b and the Add of every block (the
  // ReLUs compute in place).
  const long sum_of_activations = 3 * static_cast<long>(kBlocks) * activation;

  // From the first inference (nothing lent or pooled yet) through warm ones: the buffers the
  // graph keeps between calls count as much as those of one call.
  Tensor<float> first;
  Tensor<float> last;
  const long peak = peak_bytes_above_start([&] {
    first = graph.infer(input);
    for (int i = 0; i < 4; ++i) last = graph.infer(input);
  });
  std::printf(
      "deep residual graph, %zu blocks, batch %zu x %zu x %zu x %zu (%ld bytes a value): "
      "activation memory at its peak %ld bytes; largest live set %ld, sum of activations "
      "%ld\n",
      kBlocks, kBatch, kChannels, kSide, kSide, activation, peak, largest_live_set,
      sum_of_activations);
  // Slack for the predictions handed out (64 x 16 floats each) and the small tensors of a call.
  const long slack = activation / 4;
  EXPECT_LE(peak, largest_live_set + slack);
  EXPECT_EQ(last, first);
}

}  // namespace
