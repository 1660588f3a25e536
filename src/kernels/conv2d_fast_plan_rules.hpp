// The rules both convolution planners (conv2d_fast_plan.cpp for forward,
// conv2d_fast_plan_backward.cpp) build on: the register file of each instruction set, how well a
// block of outputs fills its registers, how large a chunk of taps is, the workspace layout, and
// what every plan starts from.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "kernels/conv2d_fast.hpp"

namespace cnnkit::kernels::plan_rules {

struct Isa {
  std::size_t lanes;      // floats per register
  std::size_t registers;  // vector registers
  std::size_t max_acc;    // accumulators a register block may hold (Simd::kMaxAccumulators)
};

inline Isa isa_of(runtime::SimdLevel level) {
  return level == runtime::SimdLevel::kAvx512 ? Isa{16, 32, 28} : Isa{8, 16, 12};
}

inline std::size_t round_up(std::size_t n, std::size_t multiple) {
  return (n + multiple - 1) / multiple * multiple;
}
inline std::size_t ceil_div(std::size_t n, std::size_t d) {
  return (n + d - 1) / d;
}

// Regions of a workspace, each a multiple of 64 bytes, per-thread ones side by side.
struct Layout {
  std::size_t total = 0;
  FastRegion add(std::size_t per_thread, std::size_t threads = 1) {
    const FastRegion region{total, round_up(std::max<std::size_t>(per_thread, 1), 16)};
    total += region.size * threads;
    return region;
  }
};

// Share of the lanes a register of `lanes` outputs keeps busy over `count` outputs.
inline double utilisation(std::size_t count, std::size_t lanes) {
  return static_cast<double>(count) / static_cast<double>(round_up(count, lanes));
}

// Two registers per block when that adds no padding (the load of each broadcast then feeds
// two FMAs), else one.
inline std::size_t register_blocks(std::size_t count, std::size_t lanes) {
  return count > lanes && ceil_div(count, lanes) % 2 == 0 ? 2 : 1;
}

// What an output-vector block over `count` outputs gets of the FMA pipes, for choosing how to
// vectorise (conv2d_fast_plan.hpp): its lane use, and with a single register per block (no second
// register for a broadcast to feed) 0.8 of that. Such a block issues one broadcast load per FMA,
// which a core with two 512-bit FMA pipes cannot keep up with: its loads, not its FMAs, set the
// pace (the factor is measured: docs/PERFORMANCE.md).
inline double output_vector_efficiency(std::size_t count, std::size_t lanes) {
  return utilisation(count, lanes) * (register_blocks(count, lanes) == 1 ? 0.8 : 1.0);
}

// Rows of a pixel-vector block for `outputs` outputs per block: accumulators, one register per
// row of inputs and one broadcast must fit the register file.
inline std::size_t pixel_block_rows(std::size_t outputs, std::size_t registers) {
  return std::clamp<std::size_t>((registers - 1) / (outputs + 1), 1, 8);
}

// Outputs of a pixel-vector block over `count` outputs (channels): near-equal pieces of at
// most 8.
inline std::size_t pixel_block_outputs(std::size_t count) {
  return ceil_div(count, ceil_div(count, 8));
}

// What a pixel-vector block gets of the FMA pipes, for choosing how to vectorise: the lane use
// of rows of `width` pixels, and with a single row per block 0.8 of that. Such a block (many
// outputs in a small register file: AVX2's 16 registers hold one row of 7 or 8 outputs) issues
// one broadcast of a weight per FMA, as an output-vector block of one register does.
inline double pixel_vector_efficiency(std::size_t width, std::size_t lanes, std::size_t rows) {
  return utilisation(width, lanes) * (rows == 1 ? 0.8 : 1.0);
}

// Channels per chunk of taps whose weights (floats_per_channel each) fit in 192 KiB of the L2
// cache. (Not L1: a chunk sized for L1 reloads the sums more often, which costs more than
// reading the weights from L2, a stream the hardware prefetcher follows well.)
inline std::size_t chunk_for(std::size_t floats_per_channel) {
  return std::max<std::size_t>(1, 192 * 1024 / (floats_per_channel * sizeof(float)));
}

// Samples' worth of offsets must fit the int32 tap and pixel tables.
inline bool fits_int32(std::size_t n) {
  return n < static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max() / 2);
}

// What every plan starts from: the geometry (1-D along y turned into rows), the lanes, and one
// thread per sample at most.
template <typename Plan>
Plan start_plan(const ConvGeometry& geometry, runtime::SimdLevel level, std::size_t threads) {
  Plan p;
  p.g = as_rows(geometry);
  p.lanes = isa_of(level).lanes;
  p.threads = std::clamp<std::size_t>(threads, 1, p.g.batch);
  return p;
}

}  // namespace cnnkit::kernels::plan_rules
