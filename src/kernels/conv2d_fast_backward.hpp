// The backward driver of the fast convolution kernels: lay one call out as its FastBackwardPlan
// says (the input error's weight tables and phases, padded copies of the error and the input),
// run the register blocks for the input error (conv2d_fast_input_error.hpp, or the forward
// driver's on E: FastBackwardPlan::dx_as_forward) and the weight gradient
// (conv2d_fast_weight_gradient.hpp), and reduce the gradients. Compiled once per ISA, like the
// blocks.
//
// Threads: one OpenMP team per call; the threads take groups of samples for the weight gradient,
// then single samples for the input error, then slices of the weight gradient's reduction, one
// at a time as they finish the last, so that a core the machine takes away for a while leaves
// its share to the others. The input error does the same arithmetic in the same order whatever
// thread computes a sample; the weight and bias gradients sum one partial per group of samples,
// in group order (groups fixed by the batch: FastBackwardPlan::groups), so every result is the
// same bit for bit run after run and on 1 to kFastGradientGroups threads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/conv2d_fast_blocks.hpp"
#include "kernels/conv2d_fast_forward.hpp"
#include "kernels/conv2d_fast_input_error.hpp"
#include "kernels/conv2d_fast_memory.hpp"
#include "kernels/conv2d_fast_plan.hpp"
#include "kernels/conv2d_fast_weight_gradient.hpp"
#include "runtime/parallel.hpp"
#include "runtime/wait.hpp"

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// The input error's weights as a forward convolution's (FastBackwardPlan::dx_as_forward): this
// thread's share of W'[c, k, u, v] = W[k, c, m-1-u, n-1-v], and (thread 0) the zero bias.
inline void flipped_weights(const FastBackwardPlan& p, const float* weights, float* ws,
                            std::size_t thread, std::size_t threads) {
  const ConvGeometry& g = p.g;
  const std::size_t m = g.kernel_y, n = g.kernel_x, per_kernel = m * n;
  float* flipped = region(ws, p.dx_flipped);
  const std::size_t c0 = runtime::share(g.channels, threads, thread);
  const std::size_t c1 = runtime::share(g.channels, threads, thread + 1);
  for (std::size_t c = c0; c < c1; ++c) {
    for (std::size_t k = 0; k < g.kernels; ++k) {
      const float* from = weights + (k * g.channels + c) * per_kernel;
      float* to = flipped + (c * g.kernels + k) * per_kernel;
      for (std::size_t uv = 0; uv < per_kernel; ++uv) to[uv] = from[per_kernel - 1 - uv];
    }
  }
  if (thread == 0) std::memset(region(ws, p.dx_zero_bias), 0, g.channels * sizeof(float));
}

inline void conv2d_backward_fast(const FastBackwardPlan& p, const float* input,
                                 const float* weights, const float* error, float* input_error,
                                 float* weight_gradient, float* bias_gradient, float* ws) {
  const ConvGeometry& g = p.g;
  const std::size_t in_size = g.channels * g.in_y * g.in_x;
  const std::size_t pixels = g.out_y() * g.out_x();
  const std::size_t out_size = g.kernels * pixels;
  const std::size_t dw_rows_total = g.channels * g.kernel_y * g.kernel_x;
  std::size_t starts[kFastMaxStride * kFastMaxStride + 1];
  if (!p.dx_as_forward) {
    backward_taps(p, region(ws, p.dx_taps), region(ws, p.dx_position), region(ws, p.dx_edge_taps),
                  starts);
  }
  // Groups and samples stay on the thread that has them in its cache (AffineShare, in
  // runtime/parallel.hpp); the groups are contiguous runs of samples, so a thread's first
  // groups are the samples it computed in the forward pass.
  runtime::AffineShare groups(p.groups, p.threads), samples(g.batch * p.dx_row_pieces, p.threads);
  // The output-vector weight gradient's reduction (the group partials summed in group order and
  // transposed, (C*m*n, K) -> (K, C*m*n)) in slices of kernel rows, taken after the samples, so
  // that a thread done with its samples reduces instead of waiting for the others at the
  // barrier; a slice starts once every group is done (groups_done, whose release publishes the
  // partials). (Undisturbed, this costs the same as one share per thread after the barrier; when
  // the machine takes a core away for a while, the other core reduces what it would have.)
  constexpr std::size_t kSliceRows = 4 * kLanes;
  const std::size_t slice_count =
      p.dw_mode == FastMode::kOutputVector ? (dw_rows_total + kSliceRows - 1) / kSliceRows : 0;
  runtime::AffineShare slices(slice_count, p.threads);
  std::atomic<std::uint32_t> groups_done{0};
  const auto reduce_slice = [&](std::size_t slice) {
    runtime::wait_until(groups_done, static_cast<std::uint32_t>(p.groups));
    const std::size_t r0 = slice * kSliceRows;
    const std::size_t rows = std::min(kSliceRows, dw_rows_total - r0);
    transpose_sum(region(ws, p.dw_partial) + r0 * p.dw_padded_kernels, p.groups, p.dw_partial.size,
                  rows, g.kernels, p.dw_padded_kernels, weight_gradient + r0, dw_rows_total);
  };
  // What one thread of the team does, or the calling thread alone (in_team false): one thread
  // does not enter a parallel region at all (runtime/parallel.hpp says why).
  const auto work = [&](std::size_t thread, std::size_t threads, bool in_team) {
    float* padded_error = region(ws, p.error, thread);
    float* blocked = p.dx_planar ? nullptr : region(ws, p.dx_blocked, thread);
    float* dw_input = region(ws, p.dw_input, thread);
    float* error_t = region(ws, p.dw_error, thread);
    float* pixel_table = region(ws, p.pixel_table, thread);
    std::size_t table_samples = 0;  // the pass size pixel_table holds the offsets of
    if (input_error != nullptr && p.dx_as_forward) {
      flipped_weights(p, weights, ws, thread, threads);
      if (in_team) runtime::barrier();  // W' is written
      forward_tables(p.dx_forward, region(ws, p.dx_flipped), region(ws, p.dx_zero_bias), ws, thread,
                     threads);
    } else if (input_error != nullptr) {  // null: not wanted (the first layer of a network)
      backward_tables(p, weights, ws, thread, threads);
    }
    // This thread's scratch is cleared when it first needs it: with fewer samples than threads
    // one thread may take only groups and another only samples. E's padded copy may need only
    // its border cleared (error_border_only; input_error_sample writes the rest); E pixel-major
    // only its padding kernels (pass_error writes the others).
    bool samples_ready = false, groups_ready = false;
    const auto ready_for_samples = [&] {
      if (samples_ready) return;
      samples_ready = true;
      if (p.dx_as_forward) {
        float* padded = region(ws, p.dx_forward.input, thread);
        std::memset(padded, 0, p.dx_forward.input.size * sizeof(float));
        return;
      }
      if (!p.error_border_only) {
        std::memset(padded_error, 0, p.error.size * sizeof(float));
        return;
      }
      zero_around(padded_error, g.kernels, p.error_y, p.error_x, p.error_pad_y_before, g.out_y(),
                  p.error_pad_x_before, g.out_x(), p.error.size);
    };
    const auto ready_for_groups = [&] {
      if (groups_ready) return;
      std::memset(dw_input, 0, p.dw_input.size * sizeof(float));
      if (p.dw_padded_kernels > g.kernels) {
        std::memset(error_t, 0, p.dw_error.size * sizeof(float));
      }
      groups_ready = true;
    };
    const auto group_work = [&](std::size_t group) {
      ready_for_groups();
      // The group's partial sums start from zero in its first pass (no memset of its own).
      float* partial = region(ws, p.dw_partial, group);
      float* bias_partial = region(ws, p.db_partial, group);
      std::memset(bias_partial, 0, p.db_partial.size * sizeof(float));
      const std::size_t b0 = runtime::share(g.batch, p.groups, group);
      const std::size_t b1 = runtime::share(g.batch, p.groups, group + 1);
      for (std::size_t pass = b0; pass < b1; pass += p.samples_per_pass) {
        const std::size_t samples = std::min(p.samples_per_pass, b1 - pass);
        for (std::size_t s = 0; s < samples; ++s) {
          const std::size_t b = pass + s;
          // The pass's copies: the padded input (unless the blocks read it directly) and
          // pixel-major E.
          if (!p.dw_direct) {
            const float* image = input + b * in_size;
            float* padded = dw_input + s * g.channels * p.plain_plane;
            for (std::size_t c = 0; c < g.channels; ++c) {
              for (std::size_t y = 0; y < g.in_y; ++y) {
                if (!row_is_read(g, y)) {  // never read: stays zero
                  prefetch_row_ahead(image + (c * g.in_y + y) * g.in_x, g.in_x);
                  continue;
                }
                float* row = padded + c * p.plain_plane + (y + g.pad_y_before()) * p.plain_x;
                if (p.dw_mode == FastMode::kPixelVector && g.stride_x > 1) {
                  // dwp's phases of the padded row (FastBackwardPlan::dw_phase_x)
                  const float* from = image + (c * g.in_y + y) * g.in_x;
                  for (std::size_t x = 0, at = g.pad_x_before(); x < g.in_x; ++x, ++at) {
                    row[at % g.stride_x * p.dw_phase_x + at / g.stride_x] = from[x];
                  }
                  continue;
                }
                copy_row(image + (c * g.in_y + y) * g.in_x, g.in_x, row + g.pad_x_before());
              }
            }
          }
          if (p.dw_mode == FastMode::kPixelVector) {
            add_sums_of(error + b * out_size, g.kernels, pixels, bias_partial);
            continue;
          }
          if (samples != table_samples) {
            pass_tables(p, samples, pixel_table);
            table_samples = samples;
          }
          pass_error(p, pixel_table, error + b * out_size, s, samples, error_t);
        }
        if (p.dw_mode == FastMode::kOutputVector) {
          add_rows(error_t, samples * pixels, p.dw_block_kernels, p.dw_error_block,
                   p.dw_padded_kernels, bias_partial);
        }
        weight_gradient_pass(p, ws, thread, samples,
                             p.dw_direct ? input + pass * in_size : dw_input, error_t,
                             error + pass * out_size, pass == b0, partial);
      }
      groups_done.fetch_add(1, std::memory_order_release);
      groups_done.notify_all();
    };
    const auto sample_work = [&](std::size_t item) {  // a piece of a sample (dx_row_pieces)
      ready_for_samples();
      const std::size_t b = item / p.dx_row_pieces;
      if (p.dx_as_forward) {
        const FastForwardPlan& f = p.dx_forward;
        float* padded = region(ws, f.input, thread);
        fill_polyphase(f, error + b * out_size, padded, 0, f.g.channels);
        forward_sample_ovec(f, padded, ws, f.planar_output ? nullptr : region(ws, f.output, thread),
                            input_error + b * in_size, whole_sample(f));
        return;
      }
      input_error_sample(p, ws, starts, error + b * out_size, padded_error, blocked,
                         region(ws, p.dx_phase, thread), input_error + b * in_size,
                         input_error_rows(p, item % p.dx_row_pieces));
    };
    // The weight-gradient groups first, then the input error sample by sample: a thread done
    // with its groups goes on to samples, and the small pieces at the end even out what the
    // few big ones left uneven (one group per thread or two: a core slowed down for a while
    // left the other waiting up to a tenth of the call).
    if (in_team) {
      runtime::barrier();
      groups.run(thread, group_work);
      if (input_error != nullptr) samples.run(thread, sample_work);
      slices.run(thread, reduce_slice);
      runtime::barrier();
      // every group, sample and slice is done here
    } else {
      for (std::size_t group = 0; group < p.groups; ++group) group_work(group);
      if (input_error != nullptr) {
        for (std::size_t item = 0; item < g.batch * p.dx_row_pieces; ++item) sample_work(item);
      }
      for (std::size_t slice = 0; slice < slice_count; ++slice) reduce_slice(slice);
    }
    if (p.dw_mode == FastMode::kPixelVector) {
      // dW[k, c, u, v] = sum over groups (in order) of the sum over lanes (in order) of the
      // partial (c, u, k, v, lane); each thread takes a share of the elements.
      const std::size_t per_row = g.kernels * g.kernel_x, rows = g.channels * g.kernel_y;
      const std::size_t e0 = runtime::share(rows * per_row, threads, thread);
      const std::size_t e1 = runtime::share(rows * per_row, threads, thread + 1);
      for (std::size_t element = e0; element < e1; ++element) {
        float sum = 0.0f;
        for (std::size_t group = 0; group < p.groups; ++group) {
          const float* lanes = region(ws, p.dw_partial, group) + element * kLanes;
          float group_sum = 0.0f;
          for (int l = 0; l < kLanes; ++l) group_sum += lanes[l];
          sum += group_sum;
        }
        const std::size_t row = element / per_row, k = element % per_row / g.kernel_x;
        const std::size_t v = element % g.kernel_x;
        weight_gradient[(k * rows + row) * g.kernel_x + v] = sum;
      }
    }
    if (thread == 0) {
      for (std::size_t k = 0; k < g.kernels; ++k) {
        float sum = 0.0f;
        for (std::size_t group = 0; group < p.groups; ++group) {
          sum += region(ws, p.db_partial, group)[k];
        }
        bias_gradient[k] = sum;
      }
    }
  };
  runtime::on_team(p.threads, work);
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
