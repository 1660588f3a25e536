// What both drivers of the fast convolution kernels (conv2d_fast_forward.hpp,
// conv2d_fast_backward.hpp) use: the workspace regions of a plan, work cut into near-equal
// shares (runtime::share, runtime/parallel.hpp), row copies in registers and software prefetch.
// Compiled once per ISA, like the blocks (conv2d_fast_blocks.hpp says how).
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/conv2d_fast_blocks.hpp"
#include "kernels/conv2d_fast_plan.hpp"
#include "runtime/parallel.hpp"  // share

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

inline float* region(float* workspace, const FastRegion& r, std::size_t thread = 0) {
  return workspace + r.offset + thread * r.size;
}

// [begin, end) of piece `i` when `length` is cut into `pieces` near-equal pieces.
inline std::size_t piece_begin(std::size_t length, std::size_t pieces, std::size_t i) {
  return length * i / pieces;
}

// The copies into padded buffers read their source once, front to back, from memory the layer
// before wrote (in L3 or DRAM by now), and the cores' own prefetchers do not run far enough
// ahead of them: so for every 64 bytes they read, the copies first ask for the line 4 KiB
// further on.
// (The address is computed as an integer: it may lie past the end of the source, where pointer
// arithmetic would be undefined; a prefetch of any address is harmless.)
inline void prefetch_ahead(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + 4096),
               _MM_HINT_T0);
}

// prefetch_ahead for every line of a row, for copies that skip rows (rows no kernel row reads):
// the lines 4 KiB on come in as if every row were copied, so that the rows read stream in
// (skipping rows without this stalls on memory each time a read row starts).
inline void prefetch_row_ahead(const float* row, std::size_t n) {
  for (std::size_t x = 0; x < n; x += 16) prefetch_ahead(row + x);
}

// Software prefetch spread over work that runs meanwhile: the lines of [begin, begin + floats),
// a few at each step, for data whose turn comes later (the output or input error that a
// transpose writes at the end of a sample, whose lines are then in L1 when it comes). Into L1
// and evenly over the steps, all of the lines: each of the alternatives (L2 or L3, front-loaded,
// only half of the lines) was measured and lost (docs/PERFORMANCE.md).
class PrefetchStream {
 public:
  PrefetchStream(const float* begin, std::size_t floats, std::size_t steps)
      : begin_(reinterpret_cast<const char*>(begin)),
        bytes_(floats * sizeof(float)),
        per_step_((bytes_ / 64 + steps) / std::max<std::size_t>(steps, 1)) {}
  // The next lines of the stream, to be written.
  void step_for_write() {
    for (std::size_t n = 0; n < per_step_ && offset_ < bytes_; ++n, offset_ += 64) {
      _mm_prefetch(begin_ + offset_, _MM_HINT_ET0);
    }
  }

 private:
  const char* begin_;
  std::size_t bytes_;
  std::size_t per_step_;
  std::size_t offset_ = 0;
};

// The same for reading, over `runs` runs of `run` floats each, `stride` floats apart (the next
// channel block's planes in every sample of a weight-gradient pass), into L1.
class PrefetchRuns {
 public:
  PrefetchRuns(const float* begin, std::size_t runs, std::size_t run, std::size_t stride,
               std::size_t steps)
      : begin_(reinterpret_cast<const char*>(begin)),
        runs_(runs),
        run_bytes_(run * sizeof(float)),
        stride_bytes_(stride * sizeof(float)),
        per_step_((runs * ((run_bytes_ + 63) / 64) + steps - 1) / std::max<std::size_t>(steps, 1)) {
  }
  void step_for_read() {
    for (std::size_t n = 0; n < per_step_ && run_index_ < runs_; ++n) {
      _mm_prefetch(begin_ + run_index_ * stride_bytes_ + offset_, _MM_HINT_T0);
      offset_ += 64;
      if (offset_ >= run_bytes_) {
        offset_ = 0;
        ++run_index_;
      }
    }
  }

 private:
  const char* begin_;
  std::size_t runs_, run_bytes_, stride_bytes_, per_step_;
  std::size_t run_index_ = 0, offset_ = 0;
};

// n floats from src to dst in registers: the row copies into padded buffers are short (8 to 32
// floats) and many (one per channel and row), where a call to memcpy costs more than the copy.
inline void copy_row(const float* src, std::size_t n, float* dst) {
  std::size_t x = 0;
  for (; x + kLanes <= n; x += kLanes) {
    prefetch_ahead(src + x);
    Simd::store(dst + x, Simd::load(src + x));
  }
  if (x < n) {
    prefetch_ahead(src + x);
    const int rest = static_cast<int>(n - x);
    Simd::store_first(dst + x, Simd::load_first(src + x, rest), rest);
  }
}

// Zeroes what the row copies leave of `count` padded planes of rows x columns floats laid one
// after the other, `size` floats in all: the rows above and below the interior rows
// [top, top + height), the columns left and right of the interior columns [left, left + width)
// of those rows, and whatever follows the last plane (the slack). The copies then write every
// other float, so a call need not clear a whole padded copy (megabytes for many channels of a
// large image) to give every float a value.
inline void zero_around(float* planes, std::size_t count, std::size_t rows, std::size_t columns,
                        std::size_t top, std::size_t height, std::size_t left, std::size_t width,
                        std::size_t size) {
  const std::size_t plane = rows * columns, right = columns - left - width;
  for (std::size_t k = 0; k < count; ++k) {
    float* at = planes + k * plane;
    std::memset(at, 0, top * columns * sizeof(float));
    for (std::size_t y = top; y < top + height; ++y) {
      std::memset(at + y * columns, 0, left * sizeof(float));
      std::memset(at + y * columns + left + width, 0, right * sizeof(float));
    }
    std::memset(at + (top + height) * columns, 0, (rows - top - height) * columns * sizeof(float));
  }
  std::memset(planes + count * plane, 0, (size - count * plane) * sizeof(float));
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
