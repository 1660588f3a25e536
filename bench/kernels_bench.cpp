// Google Benchmark cases for the convolution kernels: the W3 shapes of docs/WORKLOADS.md (a and b
// are also W1's two convolutions), forward and backward, through the fast SIMD kernels at every
// level this CPU runs and through the im2col + GEMM path; ReLU on W1's first activation; W1's
// first fully connected layer (784 -> 120) and Adam's update of its weights.
// GFLOP/s count a forward as 2*N*K*C*m*n*Y'*X' and a backward as twice that, as docs/WORKLOADS.md
// does.
//   cnnkit_kernels_bench [--benchmark_filter=c/] [--threads=N]   (default: all cores)
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/threading.hpp"
#include "kernels/adam.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_fast.hpp"
#include "kernels/elementwise.hpp"

namespace {

using cnnkit::kernels::ConvGeometry;
using cnnkit::runtime::SimdLevel;

// Every value of a float range drawn from N(0, scale^2), one engine per case (seeded 0), so
// every run benchmarks the same numbers.
template <typename Range>
void fill_normal(Range& values, std::mt19937& engine, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  for (float& v : values) v = normal(engine);
}

struct W3Case {
  const char* name;
  ConvGeometry g;
};

// {N, C, Y, X, K, m, n, sy, sx}
const W3Case kCases[] = {
    {"a", {64, 1, 28, 28, 6, 5, 5, 1, 1}},
    {"b", {64, 6, 14, 14, 16, 5, 5, 1, 1}},
    {"c", {32, 64, 32, 32, 64, 3, 3, 1, 1}},
    {"d", {32, 128, 16, 16, 128, 3, 3, 2, 2}},
};

struct Buffers {
  std::vector<float> input, weights, bias, output, error, input_error, weight_gradient,
      bias_gradient, workspace;
  explicit Buffers(const ConvGeometry& g) {
    std::mt19937 engine(0);
    auto fill = [&](std::vector<float>& v, std::size_t n) {
      v.resize(n);
      fill_normal(v, engine);
    };
    fill(input, g.input_size());
    fill(weights, g.weights_size());
    fill(bias, g.kernels);
    fill(error, g.output_size());
    output.resize(g.output_size());
    input_error.resize(g.input_size());
    weight_gradient.resize(g.weights_size());
    bias_gradient.resize(g.kernels);
  }
};

enum class Path { kFastAvx512, kFastAvx2, kGemm };

// What a case runs: the forward pass, the whole backward pass, or the backward pass without the
// input error (what a network's first layer runs; with the whole pass it splits the time between
// the weight gradient and the input error).
enum class Pass { kForward, kBackward, kWeightsOnly };

void run(benchmark::State& state, const ConvGeometry& g, Path path, Pass pass) {
  const bool backward = pass != Pass::kForward;
  const SimdLevel level = path == Path::kFastAvx512 ? SimdLevel::kAvx512 : SimdLevel::kAvx2;
  if (path != Path::kGemm && !cnnkit::kernels::conv2d_fast_covers(g, level)) {
    state.SkipWithError("this CPU lacks the instructions");
    return;
  }
  Buffers b(g);
  float* const input_error = pass == Pass::kWeightsOnly ? nullptr : b.input_error.data();
  for (auto _ : state) {
    if (path == Path::kGemm) {
      if (backward) {
        cnnkit::kernels::conv2d_backward_gemm(g, b.input.data(), b.weights.data(), b.error.data(),
                                              input_error, b.weight_gradient.data(),
                                              b.bias_gradient.data(), b.workspace);
      } else {
        cnnkit::kernels::conv2d_forward_gemm(g, b.input.data(), b.weights.data(), b.bias.data(),
                                             b.output.data(), b.workspace);
      }
    } else if (backward) {
      cnnkit::kernels::conv2d_backward_fast(g, b.input.data(), b.weights.data(), b.error.data(),
                                            input_error, b.weight_gradient.data(),
                                            b.bias_gradient.data(), b.workspace, level);
    } else {
      cnnkit::kernels::conv2d_forward_fast(g, b.input.data(), b.weights.data(), b.bias.data(),
                                           b.output.data(), b.workspace, level);
    }
    benchmark::ClobberMemory();
  }
  // A forward's worth of FLOPs per product: the backward pass has two, or one without dX.
  const double flops =
      static_cast<double>(g.forward_flops()) * (pass == Pass::kBackward ? 2.0 : 1.0);
  state.counters["FLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = static_cast<double>(cnnkit::num_threads());
}

// ReLU on W1's first activation (64 x 6 x 28 x 28), in place as the network runs it. Memory
// bound: bytes/s counts the float read and written and the mask byte (forward) or the float
// error read and written and the mask read (backward).
void run_relu(benchmark::State& state, bool backward) {
  const std::size_t n = std::size_t{64} * 6 * 28 * 28;
  std::vector<float> values(n);
  std::vector<std::uint8_t> passes(n);
  std::mt19937 engine(0);
  fill_normal(values, engine);
  cnnkit::kernels::relu_forward(values.data(), values.data(), passes.data(), n);
  for (auto _ : state) {
    if (backward) {
      cnnkit::kernels::relu_backward(passes.data(), values.data(), values.data(), n);
    } else {
      cnnkit::kernels::relu_forward(values.data(), values.data(), passes.data(), n);
    }
    benchmark::ClobberMemory();
  }
  state.counters["bytes/s"] = benchmark::Counter(static_cast<double>(n * (2 * sizeof(float) + 1)),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = static_cast<double>(cnnkit::num_threads());
}

// W1's first fully connected layer (784 -> 120, batch 64): forward (which, given a const
// tensor, also keeps a copy of its input for backward, 200 KB; in a network the input is handed
// over instead), or backward with its Adam update (the weight gradient, the input error and the
// update).
void run_fully_connected(benchmark::State& state, bool backward) {
  const std::size_t batch = 64, inputs = 784, outputs = 120;
  cnnkit::FullyConnected<float> layer(inputs, outputs);
  layer.set_optimizer(cnnkit::Adam<float>(1e-3f, 0.9f, 0.999f));
  cnnkit::Tensor<float> input({batch, inputs}), error({batch, outputs});
  std::mt19937 engine(0);
  fill_normal(input, engine);
  fill_normal(error, engine, 1e-3f);
  (void)layer.forward(input);
  for (auto _ : state) {
    if (backward) {
      state.PauseTiming();  // backward() needs a fresh forward()
      (void)layer.forward(input);
      state.ResumeTiming();
      benchmark::DoNotOptimize(layer.backward(error));
    } else {
      benchmark::DoNotOptimize(layer.forward(input));
    }
    benchmark::ClobberMemory();
  }
  const double multiply_adds = static_cast<double>(batch * inputs * outputs);
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * multiply_adds * (backward ? 2.0 : 1.0),
                                                benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = static_cast<double>(cnnkit::num_threads());
}

// Adam's update of W1's largest parameter, the 784 x 120 weights of the first fully connected
// layer: bytes/s counts the four arrays read and the three written.
void run_adam(benchmark::State& state) {
  const std::size_t n = std::size_t{784} * 120;
  std::vector<float> w(n), v(n, 0.0f), r(n, 0.0f), g(n);
  std::mt19937 engine(0);
  fill_normal(w, engine);
  fill_normal(g, engine, 1e-3f);
  const cnnkit::kernels::AdamStep<float> step{0.9f, 0.999f, 1e-3f, 1e-8f, 10.0f, 1000.0f};
  for (auto _ : state) {
    cnnkit::kernels::adam_update(w.data(), v.data(), r.data(), g.data(), n, step);
    benchmark::ClobberMemory();
  }
  state.counters["bytes/s"] = benchmark::Counter(static_cast<double>(n * 7 * sizeof(float)),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = static_cast<double>(cnnkit::num_threads());
}

void register_all() {
  benchmark::RegisterBenchmark("adam/w1_fc1", run_adam)
      ->Unit(benchmark::kMicrosecond)
      ->UseRealTime();
  for (const bool backward : {false, true}) {
    benchmark::RegisterBenchmark(
        backward ? "fc/w1/backward" : "fc/w1/forward",
        [backward](benchmark::State& s) { run_fully_connected(s, backward); })
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  for (const bool backward : {false, true}) {
    benchmark::RegisterBenchmark(backward ? "relu/w1/backward" : "relu/w1/forward",
                                 [backward](benchmark::State& s) { run_relu(s, backward); })
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
  }
  const std::pair<Path, const char*> paths[] = {
      {Path::kFastAvx512, "avx512"}, {Path::kFastAvx2, "avx2"}, {Path::kGemm, "gemm"}};
  for (const W3Case& c : kCases) {
    for (const auto& [path, path_name] : paths) {
      const std::pair<Pass, const char*> passes[] = {{Pass::kForward, "forward"},
                                                     {Pass::kBackward, "backward"},
                                                     {Pass::kWeightsOnly, "weights"}};
      for (const auto& [pass, pass_name] : passes) {
        const std::string name = std::string("conv/") + c.name + "/" + pass_name + "/" + path_name;
        benchmark::RegisterBenchmark(
            name.c_str(),
            [g = c.g, path = path, pass = pass](benchmark::State& s) { run(s, g, path, pass); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
}

}  // namespace

// bench/blocks_bench_avx512.cpp (compiled for AVX-512; registers nothing on other CPUs).
void register_block_benchmarks();

int main(int argc, char** argv) {
  std::size_t threads = 0;  // all cores
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0)
      threads = std::strtoul(argv[i] + 10, nullptr, 10);
  }
  cnnkit::set_num_threads(threads);
  benchmark::Initialize(&argc, argv);
  register_all();
  register_block_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
