// How the fast float convolution kernels (conv2d_fast.hpp) cut one call into work: which kernel
// shape, which register blocks, which scratch buffers and where they live inside the caller's
// workspace. Plain data, filled by plan_forward / plan_backward in conv2d_fast_plan.cpp (compiled
// for the baseline CPU) and read by the per-ISA kernels (simd_kernels_avx512.cpp,
// simd_kernels_avx2.cpp).
//
// Two ways to vectorise, chosen per call by lane utilisation (a block of a single register of
// channels counted at 0.8 of it, see output_vector_efficiency in conv2d_fast_plan.cpp):
//  * output-vector ("ovec"): one SIMD register holds `lanes` output channels of one pixel; input
//    values are broadcast. Any spatial size, any stride; wastes lanes when the channel count is
//    small. Results go to a channel-blocked scratch and are transposed to (N, K, Y', X').
//    Forward, for few kernels and rows of even length, a register can instead hold lanes / 2
//    channels of two neighbouring pixels ("pixel pairs"), so that one broadcast of two input
//    floats feeds two registers where a single register of channels would have only one.
//  * pixel-vector ("pvec"): one register holds `lanes` neighbouring pixels of one output row;
//    weights are broadcast. Wants few channels and a horizontal input step of 1 (polyphase
//    input makes strided forward passes fit; the strided input error runs phase by phase);
//    writes (N, K, Y', X') directly.
// The weight gradient vectorises over the kernels K ("dW" blocks of kernel rows), or for few
// kernels and horizontal stride 1 over output columns ("dwp" blocks).
#pragma once

#include <algorithm>
#include <cstddef>

#include "kernels/conv_geometry.hpp"

namespace cnnkit::kernels {

// Largest stride and kernel width the fast kernels take; the GEMM path handles the rest.
inline constexpr std::size_t kFastMaxStride = 4;
inline constexpr std::size_t kFastMaxKernelX = 8;
// Sample groups of the weight gradient (FastBackwardPlan::groups) on up to this many threads.
inline constexpr std::size_t kFastGradientGroups = 4;
// Kernel rows per phase the input error's pvec_rows_block takes at most
// (FastBackwardPlan::dx_row_taps).
inline constexpr std::size_t kFastMaxRowTaps = 4;
// Rows of a pvec_rows_block at most (more than pvec_block's 8: its J weights per output take
// fewer registers than pvec_block's row of inputs per output row).
inline constexpr std::size_t kFastMaxRowTapRows = 16;

enum class FastMode { kOutputVector, kPixelVector };

// Kernel rows u in [begin, end) of output row i that read real input rows: the others read the
// zero padding above or below the image (padded row i*sy + u is input row i*sy + u - pad).
// "Same" padding always keeps the centre row, so the range is never empty.
struct KernelRows {
  std::size_t begin = 0, end = 0;
};
// With dilation dy, kernel row u reads padded row i*sy + u*dy; other padding than "same" may
// leave the range empty (begin == end).
inline KernelRows valid_kernel_rows(const ConvGeometry& g, std::size_t i) {
  const std::size_t top = i * g.stride_y, pad = g.pad_y_before(), dy = g.dilation_y;
  const std::size_t begin = std::min(pad > top ? (pad - top + dy - 1) / dy : 0, g.kernel_y);
  // kernel rows before the padding below
  const std::size_t below = g.in_y + pad > top ? (g.in_y + pad - top + dy - 1) / dy : 0;
  return {begin, std::max(begin, below < g.kernel_y ? below : g.kernel_y)};
}
// Kernel columns v in [begin, end) of output column j that read real input columns, as
// valid_kernel_rows does for rows.
inline KernelRows valid_kernel_columns(const ConvGeometry& g, std::size_t j) {
  const std::size_t left = j * g.stride_x, pad = g.pad_x_before();
  const std::size_t begin = pad > left ? pad - left : 0;
  const std::size_t before_right = g.in_x + pad - left;
  return {begin, before_right < g.kernel_x ? before_right : g.kernel_x};
}
// Output columns [begin, end) that share the kernel columns [v_begin, v_end) they read, and the
// output columns of the groups before them in a pass (FastBackwardPlan::dw_columns).
struct DwColumns {
  std::size_t begin = 0, end = 0, v_begin = 0, v_end = 0, before = 0;
};
// Column groups at most (a plan with more reads a padded copy): the middle columns and, for
// kernels up to 8 wide, up to 3 edge columns on either side.
inline constexpr std::size_t kFastMaxColumnGroups = 8;
// The other way round, for the weight gradient: the output rows i in [begin, end) whose kernel
// row u reads real input rows (empty when every one reads padding).
inline KernelRows valid_output_rows(const ConvGeometry& g, std::size_t u) {
  // pad <= i*sy + u < in_y + pad, for i < out_y.
  const std::size_t pad = g.pad_y_before(), sy = g.stride_y;
  if (u >= g.in_y + pad) return {};
  const std::size_t begin = std::min(pad > u ? (pad - u + sy - 1) / sy : 0, g.out_y());
  const std::size_t end = std::min((g.in_y + pad - u + sy - 1) / sy, g.out_y());
  return begin < end ? KernelRows{begin, end} : KernelRows{};
}
// The input error in phases (conv2d_fast_input_error.hpp): kernel row u reaches the rows of
// phase py (input rows py + sy*yy) when (py + pad - u) is a multiple of sy, from error row
// yy + du, du = (py + pad - u) / sy; it reads E itself, not the zeros around it, when that row
// is one of E's out_y rows.
inline bool in_phase(const ConvGeometry& g, std::size_t py, std::size_t u) {
  return (py + g.pad_y_before() + g.stride_y * g.kernel_y - u) % g.stride_y == 0;
}
inline bool reads_error(const ConvGeometry& g, std::size_t py, std::size_t yy, std::size_t u) {
  // yy + du in [0, out_y), with du = (py + pad - u) / sy, written without negative numbers.
  const std::size_t reached = yy * g.stride_y + py + g.pad_y_before();  // = (yy + du)*sy + u
  return reached >= u && reached - u < g.out_y() * g.stride_y;
}
// Whether some kernel row reads input row y: padded row y + pad is i*sy + u for a u < m. Always
// so for kernels at least as tall as the stride; a shorter one skips rows (a 1x1 kernel at
// stride 3 reads one row in three), which the padded copies then leave out.
inline bool row_is_read(const ConvGeometry& g, std::size_t y) {
  return g.kernel_y >= g.stride_y || (y + g.pad_y_before()) % g.stride_y < g.kernel_y;
}

// Edge rows with tap tables of their own (FastForwardPlan::edge_taps), at most this many at the
// top and as many at the bottom; rows past them use the full table (still right, with FMAs on
// the zero padding).
inline constexpr std::size_t kFastMaxEdgeRows = 4;

// One scratch region inside the workspace: offset and length in floats (64-byte multiples).
struct FastRegion {
  std::size_t offset = 0;
  std::size_t size = 0;
};

struct FastForwardPlan {
  ConvGeometry g{};
  std::size_t lanes = 0;    // floats per SIMD register
  std::size_t threads = 1;  // threads this call uses (<= batch, unless split_kernels)
  // Fewer samples than threads: the threads share the samples' kernel groups (kernel_groups),
  // (sample, group) by (sample, group), instead of taking whole samples.
  bool split_kernels = false;
  // split_kernels: pieces of output rows each kernel group is cut into, so that the items
  // (sample, group, piece) share evenly among the threads (1 when the groups already do).
  std::size_t row_pieces = 1;
  FastMode mode = FastMode::kOutputVector;
  // Polyphase, zero-padded input of one sample: C planes of padded_y rows; each row holds the
  // stride_x phases of the padded row one after the other, phase_x floats each.
  std::size_t padded_y = 0, phase_x = 0, padded_row = 0, padded_plane = 0;
  std::size_t taps = 0;  // C*m*n
  // ovec: registers of output channels per block (1 or 2), the output channels per block (lanes *
  // channel_registers, or lanes / 2 * channel_registers in pairs) and K rounded up to them.
  std::size_t channel_registers = 1, block_channels = 0, padded_kernels = 0;
  // ovec in pixel pairs: each register holds lanes / 2 channels of two neighbouring pixels
  // (ovec_block with PixelsPerUnit = 2; for even rows), and the weights and biases are stored
  // twice.
  bool pixel_pairs = false;
  std::size_t max_units = 0;  // ovec: units (pixels, or pixel pairs) per register block, at most
  // ovec, two registers of channels, all taps in one chunk, K a multiple of block_channels and
  // blocks of at most one register tile (lanes pixels or lanes / 2 pairs): each block's sums are
  // final, and it stores them straight into the output planes (transposed in registers)
  // instead of into the channel-blocked scratch `output`.
  bool planar_output = false;
  // ovec: input channels per chunk of taps, so that a chunk's weights stay in the L2 cache
  // while every output row of the sample runs over them (sums are carried in `output`).
  std::size_t chunk = 0;
  // pvec: outputs and rows per register block
  std::size_t pvec_outputs = 0, pvec_rows = 0;
  // ovec: (K / block_channels, taps, block_channels, pairs ? 2 : 1); pvec: (taps, K)
  FastRegion weights;
  FastRegion bias;       // ovec: padded_kernels (pairs: each twice)
  FastRegion tap_table;  // 2 ints per tap (source offset, weight offset), stored as float bits
  // ovec: the first edge_top and the last edge_bottom output rows, whose top or bottom kernel
  // rows read only zero padding, each get a tap table without those taps (same order, same
  // offsets): 5x5 kernels on 14 rows, for example, skip 6 of their 70 row taps.
  std::size_t edge_top = 0, edge_bottom = 0;
  FastRegion edge_taps;  // (edge_top + edge_bottom) tables of 2 * taps ints
  // ovec, each row one block of at least two units, a chunk's weights within 32 KiB of L1
  // (conv2d_fast_plan.cpp says why): the first skip_columns_first kernel columns, whose taps read
  // only the zero padding left of the image for the block's first unit (pixel or pair), and the
  // last skip_columns_last, which read only padding right of it for the last unit. (Chunks are
  // sized for L2, so such weights are all in one chunk.) Every tap table lists the other taps
  // first (channels, rows, columns in order), then those of the first columns, then those of
  // the last, and the blocks leave those units out for them (BlockTaps): 5x5 kernels over 7
  // pixel pairs, for example, skip 2 of 35 pair-columns.
  std::size_t skip_columns_first = 0, skip_columns_last = 0;
  // Planar, single pixels, horizontal stride 2, each row one block whose first and last units
  // alone read padding left and right, and edge rows for every row that reads padding above or
  // below: the blocks read the input where it lies (pixels two floats apart: ovec_block's
  // SourceStep), the edge rows and columns leaving out every tap that would read outside the image,
  // so there is no padded polyphase copy (`input`): no copy to write and read again. The weights
  // are stored in tap-table order (tap_position), so that they stream in one run.
  bool in_place = false;
  FastRegion input;       // per thread: one padded sample (+ slack for the last vector)
  FastRegion output;      // per thread (ovec, not planar): channel-blocked output of one sample
  std::size_t total = 0;  // floats the workspace needs
  // Floats from one sample's input (output) to the next one's; 0: the sample's own size. A caller
  // running the kernels on a slice of every sample's planes sets them (conv2d_grouped.cpp: one
  // group's channels and kernels, read and written where they lie).
  std::size_t input_stride = 0, output_stride = 0;
};

// The kernel groups a forward sample's blocks run in: ovec, block_channels kernels each; pvec,
// about pvec_outputs each.
inline std::size_t kernel_groups(const FastForwardPlan& p) {
  return p.mode == FastMode::kOutputVector ? p.padded_kernels / p.block_channels
                                           : (p.g.kernels + p.pvec_outputs - 1) / p.pvec_outputs;
}

struct FastBackwardPlan {
  ConvGeometry g{};
  std::size_t lanes = 0;
  std::size_t threads = 1;  // threads this call uses (<= 2 * batch: groups, then samples)
  // ---- input error
  FastMode mode = FastMode::kOutputVector;
  std::size_t error_pad_y_before = 0, error_pad_x_before = 0;  // zeros around E
  std::size_t error_y = 0, error_x = 0, error_plane = 0;       // padded E of one sample
  std::size_t channel_registers = 1, block_channels = 0,
              padded_channels = 0;  // ovec: channels per block
  std::size_t max_units = 0;
  std::size_t chunk = 0;  // ovec: kernels per chunk of taps (as chunk in FastForwardPlan)
  // ovec with horizontal stride 1, otherwise as FastForwardPlan::planar_output: the blocks
  // store straight into the input error's planes (no dx_blocked, no transpose).
  bool dx_planar = false;
  std::size_t pvec_outputs = 0, pvec_rows = 0;  // pvec
  // pvec, each phase's kernel rows J at most kFastMaxRowTaps and some phase's at least 2, and
  // the block's accumulators, J weights per output, one row and one register to spare within
  // the register file (without it GCC spills accumulators to the stack): the
  // phases with J >= 2 run pvec_rows_block, which loads the pvec_rows + J - 1 rows of E a kernel
  // column reads once for its J taps (pvec_block loads pvec_rows rows per tap). Each sum then
  // adds its taps in the order (kernel, column, row) instead of (kernel, row, column).
  bool dx_row_taps = false;
  // Row taps: rows per band, as many as the register file holds (at most kFastMaxRowTapRows),
  // shared evenly over a phase's rows: fewer bands load fewer of the J - 1 rows twice.
  std::size_t dx_row_tap_rows = 0;
  FastRegion dx_phase;  // pvec, strided, per thread: one phase of the input error, (C, rows, cols)
  // ovec: (C/block_channels, taps in phase order, block_channels), so that each phase streams its
  // weights contiguously; pvec: (K*m*n, C).
  FastRegion dx_weights;
  FastRegion dx_staging;  // ovec, per thread: one kernel's (m*n, block_channels) on the way there
  FastRegion dx_taps;     // 2 ints per tap and phase
  // ovec: as FastForwardPlan::edge_taps, for each phase (py, px) its first dx_edge_top[py] and
  // last dx_edge_bottom[py] rows, whose kernel rows partly read the zeros around E
  std::size_t dx_edge_top[kFastMaxStride] = {}, dx_edge_bottom[kFastMaxStride] = {};
  FastRegion dx_edge_taps;  // phase by phase, a table of 2 * K*m*n ints per edge row
  FastRegion dx_position;   // ovec: per tap (k*m + u)*n + v, its index in phase order
  // ovec, fewer samples than threads: each sample's input error in this many pieces of
  // neighbouring input rows (input_error_rows), shared among the threads like samples, so that
  // the input error of one sample runs on several threads beside the weight gradient. Every
  // value is the same sum either way; a piece copies only the rows of E it reads.
  std::size_t dx_row_pieces = 1;
  FastRegion error;  // per thread: padded E of one sample (+ slack)
  // Beyond 1 MiB (out of L2) the padded E is cleared only around the rows the copy writes
  // (zero_around), otherwise with one memset (cheaper than a few for every row of every plane).
  bool error_border_only = false;
  FastRegion dx_blocked;  // per thread (ovec, not planar): channel-blocked input error
  // Stride 1 and odd kernels, where the forward blocks would hold pixel pairs (which the input
  // error's own blocks do not): E_{n-1} is the forward convolution of E ("same" padding, the
  // same on both sides) with the weights W'[c, k, u, v] = W[k, c, m-1-u, n-1-v] and no bias,
  // run by the forward's driver on this plan (its regions lie inside this workspace). The
  // input error's own regions above then go unused.
  bool dx_as_forward = false;
  FastForwardPlan dx_forward{};
  FastRegion dx_flipped;    // W', (C, K, m, n)
  FastRegion dx_zero_bias;  // C zeros
  // ---- weight and bias gradient: output-vector (registers of kernels) or, for few kernels or
  // few taps per pixel, pixel-vector (registers of output columns, dwp_block)
  FastMode dw_mode = FastMode::kOutputVector;
  std::size_t dwp_kernels = 0;  // pvec: kernels per block
  std::size_t dw_kernel_registers = 1, dw_block_kernels = 0, dw_padded_kernels = 0;
  std::size_t dw_kernel_rows = 0;  // kernel rows (c, u) per register block
  // ovec, direct: the blocks read the input itself, not a zero-padded copy, and never its
  // padding. A block's rows share one u (channels c0 .. c0 + dw_kernel_rows - 1; dw_kernel_rows
  // divides C) and leave out the output rows whose row u reads only padding (valid_output_rows);
  // the output columns go in groups whose kernel columns [v_begin, v_end) read the image
  // (valid_kernel_columns), the first group reading all n. A pass's pixels go group by group,
  // then output row i, sample, column j, so that every (group, u) is one contiguous run of
  // them. Otherwise (not direct) one group of all columns, rows (c, u) in order, and a padded
  // copy of the input.
  bool dw_direct = false;
  // ovec: the blocks take pixels in pairs of neighbouring columns (dw_block's PixelsPerStep = 2;
  // stride 1, one register of kernels) wherever a run of columns is even
  bool dw_column_pairs = false;
  // Whether a run of `width` neighbouring columns goes in pairs.
  bool dw_pairs_over(std::size_t width) const { return dw_column_pairs && width % 2 == 0; }
  std::size_t dw_column_groups = 0;
  DwColumns dw_columns[kFastMaxColumnGroups] = {};
  // Samples are cut into `groups` contiguous groups, each reduced into its own partial sums by
  // whichever thread takes it next; the partials are then added in group order. The cut depends
  // on the batch only (for up to kFastGradientGroups threads), so the gradients are the same bit
  // for bit on 1 to kFastGradientGroups threads, and a core that the machine takes away for a
  // while leaves its remaining groups to the others.
  std::size_t groups = 1;
  std::size_t samples_per_pass = 1;  // samples whose pixels one pass over the rows reduces
  // ovec: error_t holds a pass's E in blocks of dw_block_kernels kernels, (padded kernels /
  // dw_block_kernels, pass pixels, dw_block_kernels), dw_error_block floats apart: a block's
  // E is one contiguous run, which stays in L2 while every channel's blocks read it. (Pixel-major
  // over all kernels, a block's rows lay 4 * dw_padded_kernels bytes apart, which for hundreds of
  // kernels map to a few of L2's sets and evict one another.)
  std::size_t dw_error_block = 0;
  // ovec, direct: the kernel blocks outermost, then the channel blocks, when one sample's E is
  // more than a pass's E should hold (the channels' planes then stream once per kernel block,
  // from L2 or L3, instead of all of E once per channel block); otherwise channel blocks
  // outermost (conv2d_fast_weight_gradient.hpp).
  bool dw_kernels_outer = false;
  std::size_t plain_y = 0, plain_x = 0, plain_plane = 0;  // zero-padded input, no phases
  // dwp at a horizontal stride sx > 1: each padded row of the copy in sx phases of dw_phase_x
  // floats (padded column P at phase P % sx, index P / sx; plain_x = sx * dw_phase_x), so that
  // kernel column v of neighbouring output columns j lies side by side: j + v / sx in phase
  // v % sx. (sx = 1: one phase, dw_phase_x = plain_x.)
  std::size_t dw_phase_x = 0;
  // per thread, ints as float bits: the offset of every pixel of a pass, then for each pixel q
  // of a sample its row in the pass's error_t (sample 0) and the rows between samples
  FastRegion pixel_table;
  FastRegion dw_input;    // per thread: samples_per_pass padded samples (none when direct)
  FastRegion dw_error;    // per thread: E of those samples, pixel-major in kernel blocks
  FastRegion dw_partial;  // per group: (C*m*n, dw_padded_kernels) partial sums
  FastRegion db_partial;  // per group: dw_padded_kernels partial bias sums
  std::size_t total = 0;
};

}  // namespace cnnkit::kernels
