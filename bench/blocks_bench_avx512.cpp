// One AVX-512 register block (kernels/conv2d_fast_blocks.hpp, conv2d_fast_dw_blocks.hpp) alone,
// against a plain FMA loop in the same process: how close a block's loop comes to the core's FMA
// limit. Output-vector blocks with everything in L1 ("l1": 8 input rows, 16 weight vectors reused)
// and with W3 c's layout ("w3c": 576 taps over 64 padded 34 x 34 planes, 72 KiB of weights per
// group); W3 d's forward blocks ("w3d", weights streamed from L2); W3 d's weight-gradient block
// (dw). Compare the FLOP/s counters of block/... with block/fma_loop (one thread: --threads=1).
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/conv2d_fast.hpp"

#pragma GCC target("avx512f,fma")
// As in src/kernels/simd_kernels_avx512.cpp: GCC 12's false alarms on its own
// _mm512_undefined_ps().
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "kernels/simd_avx512.hpp"

#define CNNKIT_SIMD_NAMESPACE avx512
#include "kernels/conv2d_fast_blocks.hpp"
#include "kernels/conv2d_fast_dw_blocks.hpp"
#undef CNNKIT_SIMD_NAMESPACE

namespace {

using cnnkit::kernels::avx512::dw_block;
using cnnkit::kernels::avx512::DwFn;
using cnnkit::kernels::avx512::ovec_block;
using cnnkit::kernels::avx512::OvecFn;
using cnnkit::kernels::avx512::set_offset;

// 24 independent FMA chains (more than latency x pipes on any core here): the FMA limit.
void fma_loop(benchmark::State& state) {
  constexpr int kChains = 24;
  constexpr long kSteps = 100000;
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (auto _ : state) {
    for (long k = 0; k < kSteps; ++k) {
#pragma GCC unroll 24
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    }
    benchmark::DoNotOptimize(acc);
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * 16 * kChains * kSteps,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void block(benchmark::State& state, OvecFn fn, int registers, int pixels, bool w3c_layout) {
  constexpr std::size_t kTaps = 576, kRow = 34, kPlane = 34 * 34;  // W3 c: 64 channels x 3 x 3
  const std::size_t channels = 16 * static_cast<std::size_t>(registers);
  std::vector<float> input(66 * kPlane, 0.5f), weights(kTaps * channels, 0.25f);
  std::vector<float> taps(2 * kTaps), bias(channels, 0.0f);
  std::vector<float> output(5 * 16 * 1024);  // channel-blocked: block stride 16 x 1024
  for (std::size_t t = 0; t < kTaps; ++t) {
    const std::size_t c = t / 9, u = t % 9 / 3, v = t % 3;
    set_offset(taps.data(), 2 * t, w3c_layout ? c * kPlane + u * kRow + v : (t % 8) * 16);
    set_offset(taps.data(), 2 * t + 1, (w3c_layout ? t : t % 16) * channels);
  }
  std::size_t row = 0;
  for (auto _ : state) {
    // A different output row each call, as a sample's blocks go down the rows.
    fn(input.data() + row * kRow, taps.data(), cnnkit::kernels::avx512::BlockTaps{kTaps},
       weights.data(), bias.data(), output.data() + row * 32, 16, 16 * 1024);
    row = (row + 1) % 30;
  }
  benchmark::DoNotOptimize(output.data());
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(channels) * pixels * kTaps,
                         benchmark::Counter::kIsIterationInvariantRate);
}

// W3 d's forward as its planar blocks run it: one sample's 1152 taps (128 channels x 3 x 3) over
// the 2 x 2 phases (9 x 9 each, padded) of its stride-2 input, each call one 8-pixel output row
// (R = 8) or two (R = 16, one register of kernels: half the weight traffic from L2; it reads 16
// consecutive floats where two rows would need a second base, the same number of loads) for one
// group of 16 * KB kernels, rows then groups in turn, so that the 590 KB of weights stream from
// L2 as in the kernel (147 KB per group of 32).
void block_w3d(benchmark::State& state, OvecFn fn, int registers, int pixels) {
  constexpr std::size_t kTaps = 1152, kK = 128, kPhaseRow = 9, kPhase = 81, kPlane = 4 * kPhase;
  constexpr std::size_t kOutPixels = 64;
  const std::size_t group = 16 * static_cast<std::size_t>(registers);
  std::vector<float> input(128 * kPlane + 64, 0.5f), weights(kTaps * kK, 0.01f);
  std::vector<float> taps(2 * kTaps), output(kK * kOutPixels);
  for (std::size_t t = 0; t < kTaps; ++t) {
    const std::size_t c = t / 9, u = t % 9 / 3, v = t % 3;
    set_offset(taps.data(), 2 * t,
               static_cast<std::ptrdiff_t>(c * kPlane + (u % 2 * 2 + v % 2) * kPhase +
                                           u / 2 * kPhaseRow + v / 2));
    set_offset(taps.data(), 2 * t + 1, static_cast<std::ptrdiff_t>(t * group));
  }
  const std::size_t rows_per_call = static_cast<std::size_t>(pixels) / 8;
  std::size_t row = 0, k0 = 0;
  for (auto _ : state) {
    fn(input.data() + row * kPhaseRow, taps.data(), cnnkit::kernels::avx512::BlockTaps{kTaps},
       weights.data() + k0 * kTaps, nullptr, output.data() + k0 * kOutPixels + row * 8, kOutPixels,
       16 * kOutPixels);
    row += rows_per_call;
    if (row == 8) {
      row = 0;
      k0 = (k0 + group) % kK;
    }
  }
  benchmark::DoNotOptimize(output.data());
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(group) * pixels * kTaps,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// A weight-gradient block (KB kernel registers, `rows` kernel rows, 3 columns) over one pass
// of W3 d as the direct weight gradient reads it: 4 samples of 128 unpadded 16 x 16 planes,
// stride 2, 8 x 8 output pixels each (the padding left out is ignored here); E pixel-major with
// 128 kernels. "w3d": the rows (c0 .. c0 + rows - 1, u) and kernel blocks in turn, as a pass
// goes; "l1": one block of rows again and again.
void dw(benchmark::State& state, DwFn fn, int registers, int rows, bool w3d_layout) {
  constexpr std::size_t kSamples = 4, kChannels = 128, kK = 128, kRow = 16, kPlane = 16 * 16;
  constexpr std::size_t kPixels = kSamples * 64;
  std::vector<float> input(kSamples * kChannels * kPlane + 64, 0.5f);
  std::vector<float> error_t(kPixels * kK, 0.25f), pixel_table(kPixels);
  std::vector<float> partial(kChannels * 3 * 3 * kK, 0.0f);
  for (std::size_t n = 0; n < kPixels; ++n) {
    const std::size_t s = n / 64, i = n % 64 / 8, j = n % 8;
    set_offset(pixel_table.data(), n,
               static_cast<std::ptrdiff_t>(s * kChannels * kPlane + 2 * i * kRow + 2 * j));
  }
  const float* bases[cnnkit::kernels::avx512::Simd::kMaxAccumulators];
  std::size_t c0 = 0, u = 0, k0 = 0;
  for (auto _ : state) {
    for (int r = 0; r < rows; ++r) bases[r] = input.data() + (c0 + r) * kPlane + u * kRow;
    fn(bases, pixel_table.data(), kPixels, error_t.data() + k0, kK, false,
       partial.data() + (c0 * 3 + u) * 3 * kK + k0, 9 * kK, kK);
    if (w3d_layout && ++u == 3) {  // u, then kernel blocks, then channel blocks
      u = 0;
      k0 = (k0 + 16 * registers) % kK;
      if (k0 == 0) c0 = (c0 + rows) % kChannels;
    }
  }
  benchmark::DoNotOptimize(partial.data());
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * 16 * registers * rows * 3 * kPixels,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

// The weight-gradient block of W3 b (one register of 16 kernels, 5 kernel rows, 5 columns) over
// a pass of its padded copy as the driver reads it: 2 samples of 6 planes of 18 x 18, 14 x 14
// output pixels each, pixel by pixel or in pairs of neighbouring columns (dw_block's Q); the
// same 5 rows (c, u) again and again.
void dw_w3b(benchmark::State& state, DwFn fn) {
  constexpr std::size_t kSamples = 2, kChannels = 6, kK = 16, kRow = 18, kPlane = 18 * 18;
  constexpr std::size_t kPixels = kSamples * 14 * 14, kRows = 5;
  std::vector<float> input(kSamples * kChannels * kPlane + 64, 0.5f);
  std::vector<float> error_t(kPixels * kK, 0.25f), pixel_table(kPixels);
  std::vector<float> partial(kChannels * 5 * 5 * kK, 0.0f);
  for (std::size_t n = 0; n < kPixels; ++n) {  // output row i, sample, column j (as the driver)
    const std::size_t i = n / (kSamples * 14), s = n / 14 % kSamples, j = n % 14;
    set_offset(pixel_table.data(), n,
               static_cast<std::ptrdiff_t>(s * kChannels * kPlane + i * kRow + j));
  }
  const float* bases[kRows];
  for (std::size_t r = 0; r < kRows; ++r) bases[r] = input.data() + r * kRow;  // (0, u) for u < 5
  for (auto _ : state) {
    fn(bases, pixel_table.data(), kPixels, error_t.data(), kK, false, partial.data(), 5 * kK, kK);
  }
  benchmark::DoNotOptimize(partial.data());
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * 16 * kRows * 5 * kPixels,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

void register_block_benchmarks() {
  if (cnnkit::runtime::best_simd_level() != cnnkit::runtime::SimdLevel::kAvx512) return;
  benchmark::RegisterBenchmark("block/fma_loop", fma_loop)->Unit(benchmark::kMicrosecond);
  struct Block {
    const char* name;
    OvecFn fn;
    int registers, pixels;
  };
  const Block blocks[] = {
      {"ovec<2,14>", &ovec_block<2, 14>, 2, 14}, {"ovec<2,11>", &ovec_block<2, 11>, 2, 11},
      {"ovec<2,8>", &ovec_block<2, 8>, 2, 8},    {"ovec<1,28>", &ovec_block<1, 28>, 1, 28},
      {"ovec<4,7>", &ovec_block<4, 7>, 4, 7},
  };
  for (const bool w3d : {false, true}) {
    const std::string name = std::string("block/dw<2,4,3>") + (w3d ? "/w3d" : "/l1");
    benchmark::RegisterBenchmark(name.c_str(), [w3d](benchmark::State& s) {
      dw(s, &dw_block<2, 4, 3>, 2, 4, w3d);
    })->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("block/dw<1,5,5>/w3b", [](benchmark::State& s) {
    dw_w3b(s, &dw_block<1, 5, 5>);
  })->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("block/dw<1,5,5,pairs>/w3b", [](benchmark::State& s) {
    dw_w3b(s, &dw_block<1, 5, 5, 2>);
  })->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("block/ovec<2,8,planar>/w3d", [](benchmark::State& s) {
    block_w3d(s, &ovec_block<2, 8, 1, true>, 2, 8);
  })->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("block/ovec<1,16,planar>/w3d", [](benchmark::State& s) {
    block_w3d(s, &ovec_block<1, 16, 1, true>, 1, 16);
  })->Unit(benchmark::kMicrosecond);
  for (const Block& b : blocks) {
    for (const bool w3c : {false, true}) {
      const std::string name = std::string("block/") + b.name + (w3c ? "/w3c" : "/l1");
      benchmark::RegisterBenchmark(name.c_str(), [b, w3c](benchmark::State& s) {
        block(s, b.fn, b.registers, b.pixels, w3c);
      })->Unit(benchmark::kMicrosecond);
    }
  }
}
