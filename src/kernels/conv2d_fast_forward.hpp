// The forward driver of the fast convolution kernels: lay one call out as its FastForwardPlan
// says (weight tables, the padded polyphase copy of each sample), run the register blocks
// (conv2d_fast_blocks.hpp) over every sample and scatter the results back to (N, K, Y', X').
// Compiled once per ISA, like the blocks.
//
// Threads: one OpenMP team per call; each thread takes its own contiguous share of the samples
// first, then helps with the others' (AffineShare in runtime/parallel.hpp: the samples stay on
// the core whose cache holds them, and a core the machine takes away for a while leaves its
// share to the others). A
// sample's arithmetic is the same in the same order whatever thread computes it, so the output
// is the same bit for bit on any number of threads.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "kernels/conv2d_fast_blocks.hpp"
#include "kernels/conv2d_fast_memory.hpp"
#include "kernels/conv2d_fast_plan.hpp"
#include "kernels/conv_epilogue.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// One (C, Y, X) sample into the zero-padded polyphase layout of the forward plan: padded column
// xp = x + pad_x_before goes to phase xp % sx, position xp / sx. Padding is never written here
// (the buffer is zeroed once per call). A kernel shorter than the stride reads only some of the
// rows and phases (padded row i*sy + u, phase v for v < n): the other rows are not copied, nor
// at strides above 2 the other phases. Channels [c_begin, c_end) only.
inline void fill_polyphase(const FastForwardPlan& p, const float* image, float* padded,
                           std::size_t c_begin, std::size_t c_end) {
  const ConvGeometry& g = p.g;
  const std::size_t sx = g.stride_x, pbx = g.pad_x_before(), pby = g.pad_y_before();
  if (sx == 2 && g.kernel_y >= g.stride_y && g.in_x <= 2 * kLanes) {
    // Rows of at most two registers (the common case) in one pass over every row of every
    // channel, with nothing per row but the split: none of the general loop's row setup and
    // loop over pieces.
    const int n = static_cast<int>(g.in_x);
    float* const even = padded + pby * p.padded_row + (pbx % 2) * p.phase_x + pbx / 2;
    float* const odd = padded + pby * p.padded_row + ((pbx + 1) % 2) * p.phase_x + (pbx + 1) / 2;
    for (std::size_t c = c_begin; c < c_end; ++c) {
      for (std::size_t y = 0; y < g.in_y; ++y) {
        const float* src = image + (c * g.in_y + y) * g.in_x;
        const std::size_t at = c * p.padded_plane + y * p.padded_row;
        prefetch_ahead(src);
        if (n > kLanes) prefetch_ahead(src + kLanes);
        Simd::split_even_odd(src, n, even + at, odd + at);
      }
    }
    return;
  }
  for (std::size_t c = c_begin; c < c_end; ++c) {
    for (std::size_t y = 0; y < g.in_y; ++y) {
      const float* src = image + (c * g.in_y + y) * g.in_x;
      if (g.kernel_y < g.stride_y) prefetch_row_ahead(src, g.in_x);  // rows are skipped
      if (!row_is_read(g, y)) continue;
      float* dst = padded + c * p.padded_plane + (y + pby) * p.padded_row;
      if (sx == 1) {
        copy_row(src, g.in_x, dst + pbx);
        continue;
      }
      if (sx == 2) {  // both phases, even where one is never read: a split beats a gather
        // Even source columns land in phase pbx % 2 from position pbx / 2 on, odd ones in
        // phase (pbx + 1) % 2 from (pbx + 1) / 2 on.
        float* even = dst + (pbx % 2) * p.phase_x + pbx / 2;
        float* odd = dst + ((pbx + 1) % 2) * p.phase_x + (pbx + 1) / 2;
        for (std::size_t x = 0; x < g.in_x; x += 2 * kLanes) {
          const int n = static_cast<int>(std::min<std::size_t>(2 * kLanes, g.in_x - x));
          Simd::split_even_odd(src + x, n, even + x / 2, odd + x / 2);
        }
        continue;
      }
      // Phase by phase: source columns x = first, first + sx, ... (no division per element).
      for (std::size_t phase = 0; phase < std::min(sx, g.kernel_x); ++phase) {
        const std::size_t first = (phase + sx - pbx % sx) % sx;
        float* target = dst + phase * p.phase_x + (first + pbx) / sx;
        for (std::size_t x = first; x < g.in_x; x += sx) *target++ = src[x];
      }
    }
  }
}

// Where the weights of tap t = (c, u, v) are stored: in place (FastForwardPlan::in_place), at
// t's position in the full tap table, so that the blocks read the weights streamed from L2 in
// one run: the kernel columns the blocks run for every unit first, then those they skip for the
// first unit, then those for the last (skip_columns_first), each run over (c, u, v) in order.
// Otherwise at t (weights in L1 when columns are skipped: there the order they are read in
// costs nothing).
inline std::size_t tap_position(const FastForwardPlan& p, std::size_t t) {
  if (!p.in_place) return t;
  const ConvGeometry& g = p.g;
  const std::size_t first = p.skip_columns_first, last = g.kernel_x - p.skip_columns_last;
  const std::size_t v = t % g.kernel_x, row = t / g.kernel_x;  // row: c * m + u
  const std::size_t rows = g.channels * g.kernel_y;
  if (v >= first && v < last) return row * (last - first) + (v - first);
  if (v < first) return rows * (last - first) + row * first + v;
  return rows * last + row * (g.kernel_x - last) + (v - last);
}

inline void forward_tables(const FastForwardPlan& p, const float* weights, const float* bias,
                           float* ws, std::size_t thread, std::size_t threads) {
  const ConvGeometry& g = p.g;
  const std::size_t taps = p.taps;
  // Each thread transposes its share of the taps: (K, taps) -> per group (taps, block_channels), or
  // for the pixel-vector kernel (taps, K).
  const std::size_t t0 = runtime::share(taps, threads, thread),
                    t1 = runtime::share(taps, threads, thread + 1);
  float* table = region(ws, p.weights);
  if (p.pixel_pairs) {
    // Per group (taps, block_channels, 2): every weight twice, for the two pixels of a lane pair.
    // (Pairs are for few kernels: a plain loop, reading down the columns of W.)
    for (std::size_t k0 = 0; k0 < p.padded_kernels; k0 += p.block_channels) {
      float* group = table + (k0 / p.block_channels) * taps * 2 * p.block_channels;
      for (std::size_t t = t0; t < t1; ++t) {
        const std::size_t at = tap_position(p, t) * p.block_channels;
        for (std::size_t k = 0; k < p.block_channels; ++k) {
          const float w = k0 + k < g.kernels ? weights[(k0 + k) * taps + t] : 0.0f;
          group[(at + k) * 2] = w;
          group[(at + k) * 2 + 1] = w;
        }
      }
    }
  } else if (p.mode == FastMode::kOutputVector) {
    for (std::size_t k0 = 0; k0 < p.padded_kernels; k0 += p.block_channels) {
      float* group = table + (k0 / p.block_channels) * taps * p.block_channels;
      const std::size_t rows = k0 < g.kernels ? std::min(p.block_channels, g.kernels - k0) : 0;
      if (rows < p.block_channels) {  // the padding kernels' weights are zero
        for (std::size_t t = t0; t < t1; ++t) {
          std::memset(group + tap_position(p, t) * p.block_channels, 0,
                      p.block_channels * sizeof(float));
        }
      }
      if (rows > 0 && t1 > t0) {
        transpose_sum_to(weights + k0 * taps + t0, 1, 0, rows, t1 - t0, taps, group,
                         p.block_channels,
                         [&p, t0](std::size_t c) { return tap_position(p, t0 + c); });
      }
    }
  } else if (t1 > t0) {
    transpose(weights + t0, g.kernels, t1 - t0, taps, table + t0 * g.kernels, g.kernels);
  }
  if (thread == 0) {
    if (p.mode == FastMode::kOutputVector) {
      float* padded_bias = region(ws, p.bias);
      const std::size_t copies = p.pixel_pairs ? 2 : 1;
      for (std::size_t k = 0; k < p.padded_kernels * copies; ++k) {
        padded_bias[k] = k / copies < g.kernels ? bias[k / copies] : 0.0f;
      }
    }
    // Tap (c, u, v) reads padded row u, phase v % sx, position v / sx of channel c, or in place
    // image row u - pad, column v - pad (of the block's first pixel). The edge rows' tables keep
    // the taps of their valid kernel rows only. The columns the blocks skip for their first or
    // last unit go after the others (FastForwardPlan::skip_columns_first; there is one chunk
    // of taps then); the weights of tap t lie at tap_position(t).
    const std::size_t first = p.skip_columns_first, last = g.kernel_x - p.skip_columns_last;
    const KernelRows column_runs[] = {{first, last}, {0, first}, {last, g.kernel_x}};
    const auto fill = [&](float* tap_table, KernelRows rows) {
      std::size_t n = 0;
      for (const KernelRows columns : column_runs) {
        for (std::size_t c = 0; c < g.channels; ++c) {
          for (std::size_t u = rows.begin; u < rows.end; ++u) {
            for (std::size_t v = columns.begin; v < columns.end; ++v, ++n) {
              const std::size_t t = (c * g.kernel_y + u) * g.kernel_x + v;
              const auto source = p.in_place
                                      ? static_cast<std::ptrdiff_t>((c * g.in_y + u) * g.in_x + v) -
                                            static_cast<std::ptrdiff_t>(g.pad_y_before() * g.in_x +
                                                                        g.pad_x_before())
                                      : static_cast<std::ptrdiff_t>(
                                            c * p.padded_plane + u * g.dilation_y * p.padded_row +
                                            (v * g.dilation_x % g.stride_x) * p.phase_x +
                                            v * g.dilation_x / g.stride_x);
              const std::size_t weight =
                  p.mode == FastMode::kOutputVector
                      ? tap_position(p, t) * p.block_channels * (p.pixel_pairs ? 2 : 1)
                      : t * g.kernels;
              set_offset(tap_table, 2 * n, source);
              set_offset(tap_table, 2 * n + 1, static_cast<std::ptrdiff_t>(weight));
            }
          }
        }
      }
    };
    fill(region(ws, p.tap_table), KernelRows{0, g.kernel_y});
    for (std::size_t e = 0; e < p.edge_top + p.edge_bottom; ++e) {
      const std::size_t i = e < p.edge_top ? e : g.out_y() - p.edge_top - p.edge_bottom + e;
      fill(region(ws, p.edge_taps) + e * 2 * p.taps, valid_kernel_rows(g, i));
    }
  }
}

// The tap table of output row i and its taps per input channel: an edge row's own table
// (without the kernel rows that read zero padding) or the full one.
struct RowTaps {
  const float* table;
  std::size_t per_channel;
  // The row's taps of a chunk of `channels` input channels for one block (skip_columns_first /
  // skip_columns_last).
  // `rectify`: the planar blocks' fused ReLU (BlockTaps::rectify).
  BlockTaps of_chunk(const FastForwardPlan& p, std::size_t channels, bool rectify = false) const {
    const std::size_t rows = per_channel / p.g.kernel_x, per_column = channels * rows;
    return {per_column * (p.g.kernel_x - p.skip_columns_first - p.skip_columns_last),
            per_column * p.skip_columns_first, per_column * p.skip_columns_last, rectify};
  }
};
inline RowTaps row_taps(const FastForwardPlan& p, const float* ws, std::size_t i) {
  const ConvGeometry& g = p.g;
  const std::size_t out_y = g.out_y();
  const bool top = i < p.edge_top, bottom = i + p.edge_bottom >= out_y && !top;
  if (!top && !bottom) return {ws + p.tap_table.offset, g.kernel_y * g.kernel_x};
  const std::size_t e = top ? i : p.edge_top + (i - (out_y - p.edge_bottom));
  const KernelRows rows = valid_kernel_rows(g, i);
  return {ws + p.edge_taps.offset + e * 2 * p.taps, (rows.end - rows.begin) * g.kernel_x};
}

// The output rows [begin, end) of one sample for the kernel groups [group_begin, group_end) (a
// FastForwardPlan::split_kernels item; a whole sample: all rows and groups).
struct SampleItem {
  std::size_t group_begin, group_end, row_begin, row_end;
};
inline SampleItem whole_sample(const FastForwardPlan& p) {
  return {0, kernel_groups(p), 0, p.g.out_y()};
}

// The epilogue (conv_epilogue.hpp) over pixels [first, end) of the planes of kernels
// [k_begin, k_end) of one sample's output; `epilogue` points into that sample too.
inline void planes_epilogue(const ConvEpilogue& epilogue, float* output, std::size_t k_begin,
                            std::size_t k_end, std::size_t pixels, std::size_t first,
                            std::size_t end) {
  if (!epilogue.relu) return;
  if (first == 0 && end == pixels) {  // the planes are one run
    return apply_epilogue<float, Simd>(epilogue, output, k_begin * pixels, k_end * pixels);
  }
  for (std::size_t k = k_begin; k < k_end; ++k) {
    apply_epilogue<float, Simd>(epilogue, output, k * pixels + first, k * pixels + end);
  }
}

// The planar blocks run the epilogue over a group's rows once they hold this many pixels per
// kernel (or end the item): a few KB per kernel register, still in the L1 cache.
constexpr std::size_t kEpiloguePixels = 128;

// The ovec blocks of one sample for an item (groups of block_channels kernels), each output
// through `epilogue` (for this sample) while it is still in the cache.
inline void forward_sample_ovec(const FastForwardPlan& p, const float* padded, const float* ws,
                                float* blocked, float* output, const SampleItem& item,
                                const ConvEpilogue& epilogue = {}) {
  const ConvGeometry& g = p.g;
  const std::size_t k_begin = item.group_begin * p.block_channels;
  const std::size_t k_end = item.group_end * p.block_channels;  // <= padded_kernels
  const std::size_t out_y = g.out_y(), out_x = g.out_x(), pixels = out_y * out_x;
  const std::size_t i_begin = item.row_begin, i_end = item.row_end;
  const bool all_rows = i_begin == 0 && i_end == out_y;
  const float* table = ws + p.weights.offset;
  const float* bias = ws + p.bias.offset;
  // A block's units along a row: pixels, or pixel pairs (then every row has even length).
  const std::size_t per_unit = p.pixel_pairs ? 2 : 1;
  const std::size_t units = out_x / per_unit;
  const std::size_t pieces = (units + p.max_units - 1) / p.max_units;
  if (p.planar_output) {
    // One chunk of all the taps, whole groups of kernels: every block's sums are final and go
    // straight to the rows of their kernels' planes, with no channel-blocked copy and no
    // transpose pass. (No prefetch for writing of the group's next row, as PrefetchStream does
    // for the blocked path: it gains nothing here.)
    const std::size_t channels_per_register = kLanes / per_unit;
    for (std::size_t k0 = k_begin; k0 < std::min(k_end, g.kernels); k0 += p.block_channels) {
      float* group_out = output + k0 * pixels;
      std::size_t rectified = i_begin;  // the rows before it went through the epilogue
      for (std::size_t i = i_begin; i < i_end; ++i) {
        // padded: the sample's polyphase copy, or in place the sample itself
        const float* row = padded + i * g.stride_y * (p.in_place ? g.in_x : p.padded_row);
        const RowTaps row_tap = row_taps(p, ws, i);
        for (std::size_t piece = 0; piece < pieces; ++piece) {
          const std::size_t j0 = piece_begin(units, pieces, piece);
          const std::size_t j1 = piece_begin(units, pieces, piece + 1);
          ovec_planar_kernel(static_cast<int>(j1 - j0), p.pixel_pairs, p.in_place ? g.stride_x : 1)(
              row + j0 * (p.in_place ? g.stride_x : per_unit), row_tap.table,
              row_tap.of_chunk(p, g.channels, epilogue.relu), table + k0 * p.taps * per_unit,
              bias + k0 * per_unit, group_out + i * out_x + j0 * per_unit, pixels,
              channels_per_register * pixels);
        }
        // The blocks stored max(0, y) (BlockTaps::rectify); the mask, where one is kept, comes
        // from these rows while they are in the L1 cache.
        if (epilogue.passes != nullptr &&
            ((i + 1 - rectified) * out_x >= kEpiloguePixels || i + 1 == i_end)) {
          planes_epilogue(epilogue, output, k0, std::min(k0 + p.block_channels, g.kernels), pixels,
                          rectified * out_x, (i + 1) * out_x);
          rectified = i + 1;
        }
      }
    }
    return;
  }
  const std::size_t k_last = std::min(k_end, g.kernels);  // the real kernels of the range
  // (Part of the rows: their planes' lines are not one run, and go unprefetched.)
  PrefetchStream destination(output + k_begin * pixels,
                             k_last > k_begin && all_rows ? (k_last - k_begin) * pixels : 0,
                             (item.group_end - item.group_begin) *
                                 ((g.channels + p.chunk - 1) / p.chunk) * out_y * pieces);
  for (std::size_t k0 = k_begin; k0 < k_end; k0 += p.block_channels) {
    float* group_out = blocked + k0 * pixels;
    for (std::size_t c0 = 0; c0 < g.channels; c0 += p.chunk) {
      const std::size_t chunk_channels = std::min(p.chunk, g.channels - c0);
      for (std::size_t i = i_begin; i < i_end; ++i) {
        const float* row = padded + i * g.stride_y * p.padded_row;
        const RowTaps row_tap = row_taps(p, ws, i);
        const float* chunk_taps = row_tap.table + 2 * c0 * row_tap.per_channel;
        for (std::size_t piece = 0; piece < pieces; ++piece) {
          const std::size_t j0 = piece_begin(units, pieces, piece);
          const std::size_t j1 = piece_begin(units, pieces, piece + 1);
          float* dst = group_out + (i * units + j0) * kLanes;
          destination.step_for_write();
          ovec_kernel(static_cast<int>(p.channel_registers), static_cast<int>(j1 - j0),
                      p.pixel_pairs)(
              row + j0 * per_unit, chunk_taps, row_tap.of_chunk(p, chunk_channels),
              table + k0 * p.taps * per_unit, c0 == 0 ? bias + k0 * per_unit : dst, dst, kLanes,
              pixels / per_unit * kLanes);
        }
      }
    }
  }
  // The item's pixels [q0, q1) (whole rows; rows of pairs have even length).
  const std::size_t q0 = i_begin * out_x, q1 = i_end * out_x;
  if (p.pixel_pairs) {
    // (K/(L/2), pixel pairs, L/2 channels, 2) -> (K, pixels): the two pixels of a channel's
    // lane pair are neighbours in the output too, so they move together (a transpose of pairs).
    constexpr std::size_t kChannels = kLanes / 2;
    for (std::size_t k0 = k_begin; k0 < k_last; k0 += kChannels) {
      const std::size_t count = std::min(kChannels, g.kernels - k0);
      transpose_pairs(blocked + k0 * pixels + q0 / 2 * kLanes, (q1 - q0) / 2, count,
                      output + k0 * pixels + q0, pixels, epilogue.relu);
      if (epilogue.passes != nullptr) {  // the mask from the rows just stored
        planes_epilogue(epilogue, output, k0, k0 + count, pixels, q0, q1);
      }
    }
    return;
  }
  // Channel-blocked (K/L, pixels, L) -> (K, pixels).
  for (std::size_t k0 = k_begin; k0 < k_last; k0 += kLanes) {
    const std::size_t count = std::min<std::size_t>(kLanes, g.kernels - k0);
    transpose(blocked + k0 * pixels + q0 * kLanes, q1 - q0, count, kLanes,
              output + k0 * pixels + q0, pixels);
    planes_epilogue(epilogue, output, k0, k0 + count, pixels, q0, q1);
  }
}

// The pvec blocks of one sample for an item (groups: pieces of about pvec_outputs kernels).
inline void forward_sample_pvec(const FastForwardPlan& p, const float* padded, const float* ws,
                                const float* bias, float* output, const SampleItem& item) {
  const ConvGeometry& g = p.g;
  const std::size_t out_y = g.out_y(), out_x = g.out_x(), pixels = out_y * out_x;
  const float* taps = ws + p.tap_table.offset;
  const float* table = ws + p.weights.offset;
  const std::size_t out_pieces = kernel_groups(p);
  // Bands of rows across the width, as the input error's pixel vectors run (a strip of
  // columns down all rows of many channels' planes does not stay in L2).
  for (std::size_t i0 = item.row_begin; i0 < item.row_end; i0 += p.pvec_rows) {
    const std::size_t rows = std::min(p.pvec_rows, item.row_end - i0);
    for (std::size_t j0 = 0; j0 < out_x; j0 += kLanes) {
      const int valid = static_cast<int>(std::min<std::size_t>(kLanes, out_x - j0));
      for (std::size_t piece = item.group_begin; piece < item.group_end; ++piece) {
        const std::size_t k0 = piece_begin(g.kernels, out_pieces, piece);
        const std::size_t k1 = piece_begin(g.kernels, out_pieces, piece + 1);
        pvec_kernel(static_cast<int>(k1 - k0), static_cast<int>(rows))(
            padded + i0 * g.stride_y * p.padded_row + j0, g.stride_y * p.padded_row, taps, p.taps,
            table + k0, bias + k0, valid, output + k0 * pixels + i0 * out_x + j0, pixels, out_x);
      }
    }
  }
}

// The pvec blocks' epilogue: over what an item of one sample stored (the planes of its pieces
// of kernels, rows [row_begin, row_end) of each), right after its blocks (a pvec sample is
// small: it is still in the cache).
inline void pvec_item_epilogue(const FastForwardPlan& p, const ConvEpilogue& epilogue,
                               float* output, const SampleItem& item) {
  const ConvGeometry& g = p.g;
  const std::size_t out_x = g.out_x(), pieces = kernel_groups(p);
  planes_epilogue(epilogue, output, piece_begin(g.kernels, pieces, item.group_begin),
                  piece_begin(g.kernels, pieces, item.group_end), g.out_y() * out_x,
                  item.row_begin * out_x, item.row_end * out_x);
}

// The output of every sample goes through `epilogue` (conv_epilogue.hpp) as its blocks finish.
inline void conv2d_forward_fast(const FastForwardPlan& p, const float* input, const float* weights,
                                const float* bias, float* output, float* ws,
                                const ConvEpilogue& epilogue = {}) {
  const ConvGeometry& g = p.g;
  const std::size_t in_size = p.input_stride != 0 ? p.input_stride : g.channels * g.in_y * g.in_x;
  const std::size_t out_size =
      p.output_stride != 0 ? p.output_stride : g.kernels * g.out_y() * g.out_x();
  runtime::AffineShare samples(g.batch, p.threads);
  const std::size_t groups = kernel_groups(p);
  // Fewer samples than threads (split_kernels): each sample's kernel groups, cut into
  // row_pieces pieces of rows, are the items, each thread taking its own contiguous share first
  // and then what is left of the others' (a late thread holds up nobody); every output is the
  // same arithmetic whoever computes it, so the same bits as one thread.
  const std::size_t per_sample = groups * p.row_pieces;
  runtime::AffineShare items(p.split_kernels ? g.batch * per_sample : 0, p.threads);
  // What one thread of the team does, or the calling thread alone (in_team false): one thread
  // does not enter a parallel region at all (runtime/parallel.hpp says why).
  const auto work = [&](std::size_t thread, std::size_t threads, bool in_team) {
    forward_tables(p, weights, bias, ws, thread, threads);
    // The blocks of sample b, read from `padded` (its polyphase copy), for an item, on this
    // thread.
    const auto blocks = [&](const float* padded, std::size_t b, const SampleItem& item) {
      // In place the blocks read the sample itself, else its polyphase copy.
      const float* source = p.in_place ? input + b * in_size : padded;
      // The epilogue's mask at the sample's outputs.
      const ConvEpilogue own{epilogue.relu,
                             epilogue.passes != nullptr ? epilogue.passes + b * out_size : nullptr};
      if (p.mode == FastMode::kOutputVector) {
        float* blocked = p.planar_output ? nullptr : region(ws, p.output, thread);
        forward_sample_ovec(p, source, ws, blocked, output + b * out_size, item, own);
      } else {
        forward_sample_pvec(p, padded, ws, bias, output + b * out_size, item);
        pvec_item_epilogue(p, own, output + b * out_size, item);
      }
    };
    // split_kernels: sample b's copy in the input region b (there are fewer samples than
    // threads), each thread clearing and writing its share of every sample's channels; then
    // (sample, kernel group) items shared like samples.
    if (p.split_kernels && in_team) {
      if (!p.in_place) {
        const std::size_t c0 = runtime::share(g.channels, threads, thread);
        const std::size_t c1 = runtime::share(g.channels, threads, thread + 1);
        for (std::size_t b = 0; b < g.batch; ++b) {
          float* padded = region(ws, p.input, b);
          // The planes of channels [c0, c1), and after the last plane the slack.
          const std::size_t end = c1 == g.channels ? p.input.size : c1 * p.padded_plane;
          std::memset(padded + c0 * p.padded_plane, 0, (end - c0 * p.padded_plane) * sizeof(float));
          fill_polyphase(p, input + b * in_size, padded, c0, c1);
        }
      }
      runtime::barrier();  // every copy and table is written
      const std::size_t out_y = g.out_y();
      items.run(thread, [&](std::size_t item) {
        // (sample, group, piece of rows), the pieces of a group next to each other
        const std::size_t b = item / per_sample, group = item % per_sample / p.row_pieces;
        const std::size_t piece = item % p.row_pieces;
        blocks(region(ws, p.input, b), b,
               {group, group + 1, piece_begin(out_y, p.row_pieces, piece),
                piece_begin(out_y, p.row_pieces, piece + 1)});
      });
      return;
    }
    float* padded = region(ws, p.input, thread);
    if (!p.in_place) std::memset(padded, 0, p.input.size * sizeof(float));
    const auto sample = [&](std::size_t b) {
      if (!p.in_place) fill_polyphase(p, input + b * in_size, padded, 0, g.channels);
      blocks(padded, b, whole_sample(p));
    };
    if (!in_team) {
      for (std::size_t b = 0; b < g.batch; ++b) sample(b);
      return;
    }
    runtime::barrier();
    samples.run(thread, sample);
  };
  runtime::on_team(p.threads, work);
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
