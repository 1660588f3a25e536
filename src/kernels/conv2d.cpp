// The convolution entry points. float goes to the SIMD direct-convolution kernels
// (conv2d_fast.hpp: runtime AVX-512 / AVX2 dispatch) whenever they cover the CPU and geometry;
// double and everything else take the im2col + GEMM path of this file, the lecture's
// "Matrix implementation". Each sample's padded
// input is lowered to a matrix (im2col) so that the convolution becomes one GEMM through BLAS:
//   forward:  out_b (K, Y'X') = W (K, Cmn) * cols_b (Cmn, Y'X') + bias
//   (per group with groups > 1: the group's rows of W and out, its channels' cols)
//   backward: "the same formulas as in a fully connected layer"
//             grad W       = sum_b E_b (K, Y'X') * cols_b^T   (nabla W = E_n X^T)
//             E_{n-1}, b   = col2im(W^T * E_b)                 (E_{n-1} = W^T E_n)
//             grad bias[k] = sum of E over the batch and both spatial axes.
// Samples run in parallel (OpenMP, static schedule); each thread owns one slice of the
// workspace. The weight gradient is summed per thread and the partial sums are then added in
// thread order, so a given thread count always gives bit-identical results.
#include "kernels/conv2d.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "kernels/chunks.hpp"
#include "kernels/conv2d_dilated.hpp"
#include "kernels/conv2d_dilated_rows.hpp"
#include "kernels/conv2d_fast.hpp"
#include "kernels/conv2d_pointwise.hpp"
#include "kernels/gemm.hpp"
#include "kernels/im2col.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit::kernels {

namespace {

// Below this many elements an epilogue pass runs on one thread: starting the team costs more.
constexpr std::size_t kParallelElements = std::size_t{1} << 16;

// A 1x1 kernel with stride 1 reads every input pixel exactly once and needs no padding: the
// lowered matrix (C, Y*X) is the sample itself ("1x1 Convolutions": a fully connected layer
// along the channels).
bool lowering_is_identity(const ConvGeometry& g) {
  return g.kernel_y == 1 && g.kernel_x == 1 && g.stride_y == 1 && g.stride_x == 1 &&
         g.pad_y_before() == 0 && g.pad_y_after() == 0 && g.pad_x_before() == 0 &&
         g.pad_x_after() == 0;
}

std::size_t max_threads() {
  return runtime::team_size();
}

std::size_t this_thread() {
  return runtime::this_thread();
}

template <typename T>
void grow(std::vector<T>& workspace, std::size_t size) {
  if (workspace.size() < size) workspace.resize(size);
}

}  // namespace

template <typename T>
void conv2d_forward_gemm(const ConvGeometry& geometry, const T* input, const T* weights,
                         const T* bias, T* output, std::vector<T>& workspace,
                         const ConvEpilogue& epilogue) {
  // 1-D along y as rows: the same lowered matrix, built a row at a time, not a value at a time.
  const ConvGeometry g = as_rows(geometry);
  const ConvGeometry h = group_view(g);      // one group: C/groups channels, K/groups kernels
  const std::size_t rows = lowered_rows(h);  // (C/groups)*m*n
  const std::size_t cols = lowered_cols(h);  // Y'*X'
  if (cols == 0) return;                     // no output positions, nothing to write
  const bool identity = lowering_is_identity(g);
  const std::size_t slice = identity ? 0 : rows * cols;
  const std::size_t group_input = h.channels * g.in_y * g.in_x;
  grow(workspace, slice * max_threads());
  T* const columns_base = workspace.data();

  runtime::parallel_for_static(g.batch, true, [&](std::size_t b) {
    const T* sample = input + b * g.channels * g.in_y * g.in_x;
    T* out = output + b * g.kernels * cols;
    // "Bias is an element-wise addition of a scalar value for every kernel": start every output
    // map at its bias and let the GEMM add W * cols on top (beta = 1).
    for (std::size_t k = 0; k < g.kernels; ++k)
      std::fill(out + k * cols, out + (k + 1) * cols, bias[k]);
    // Group j: its kernels (rows j*K/groups.. of W and of the output) see its channels only.
    for (std::size_t j = 0; j < g.groups; ++j) {
      const T* columns = sample + j * group_input;
      if (!identity) {
        T* own = columns_base + this_thread() * slice;
        im2col(h, columns, own);
        columns = own;
      }
      gemm<T>(Transpose::kNo, Transpose::kNo, h.kernels, cols, rows, T(1),
              weights + j * h.kernels * rows, columns, T(1), out + j * h.kernels * cols);
    }
    apply_epilogue(epilogue, output, b * g.kernels * cols, (b + 1) * g.kernels * cols);
  });
}

template <typename T>
void conv2d_backward_gemm(const ConvGeometry& geometry, const T* input, const T* weights,
                          const T* error, T* input_error, T* weight_gradient, T* bias_gradient,
                          std::vector<T>& workspace) {
  const ConvGeometry g = as_rows(geometry);           // as in the forward pass
  const ConvGeometry h = group_view(g);               // one group
  const std::size_t rows = lowered_rows(h);           // (C/groups)*m*n
  const std::size_t cols = lowered_cols(h);           // Y'*X'
  const std::size_t weight_count = g.weights_size();  // K*(C/groups)*m*n = K*rows

  // Bias gradient: sums over E (attention: over the batch too), in a fixed order.
  for (std::size_t k = 0; k < g.kernels; ++k) {
    T sum = 0;
    for (std::size_t b = 0; b < g.batch; ++b) {
      const T* map = error + (b * g.kernels + k) * cols;
      for (std::size_t p = 0; p < cols; ++p) sum += map[p];
    }
    bias_gradient[k] = sum;
  }
  if (cols == 0) {  // no output positions: nothing flowed forward, nothing flows back
    if (input_error != nullptr) std::fill(input_error, input_error + g.input_size(), T(0));
    std::fill(weight_gradient, weight_gradient + weight_count, T(0));
    return;
  }

  // Workspace: per thread one lowered matrix (reused for W^T E_b after the weight gradient
  // has consumed it), then per thread one partial weight gradient.
  const bool identity = lowering_is_identity(g);
  const std::size_t threads = max_threads();
  const std::size_t slice = identity ? 0 : rows * cols;
  grow(workspace, (slice + weight_count) * threads);
  T* const columns_base = workspace.data();
  T* const partials = workspace.data() + slice * threads;
  std::fill(partials, partials + weight_count * threads, T(0));

  const std::size_t group_input = h.channels * g.in_y * g.in_x;
  const std::size_t group_weights = h.kernels * rows;
  runtime::parallel_for_static(g.batch, true, [&](std::size_t b) {
    const std::size_t t = this_thread();
    T* own = columns_base + t * slice;
    for (std::size_t j = 0; j < g.groups; ++j) {
      const T* sample = input + b * g.channels * g.in_y * g.in_x + j * group_input;
      const T* error_b = error + (b * g.kernels + j * h.kernels) * cols;
      const T* group_w = weights + j * group_weights;

      const T* columns = sample;
      if (!identity) {
        im2col(h, sample, own);
        columns = own;
      }
      // nabla W += E_b * cols_b^T: "correlate the channels of E with those of X".
      gemm<T>(Transpose::kNo, Transpose::kYes, h.kernels, rows, cols, T(1), error_b, columns, T(1),
              partials + t * weight_count + j * group_weights);
      if (input_error == nullptr) continue;  // not wanted (the first layer of a network)
      T* sample_error = input_error + b * g.channels * g.in_y * g.in_x + j * group_input;
      // E_{n-1} = W^T E_n in the lowered space, then scattered back onto the image: col2im is
      // the "transposed convolution" and, for strides, also the upsampling (skipped positions
      // get nothing).
      if (identity) {
        gemm<T>(Transpose::kYes, Transpose::kNo, rows, cols, h.kernels, T(1), group_w, error_b,
                T(0), sample_error);
      } else {
        gemm<T>(Transpose::kYes, Transpose::kNo, rows, cols, h.kernels, T(1), group_w, error_b,
                T(0), own);
        col2im(h, own, sample_error);
      }
    }
  });

  // Deterministic reduction: partial sums added in thread order.
  std::copy(partials, partials + weight_count, weight_gradient);
  for (std::size_t t = 1; t < threads; ++t) {
    const T* partial = partials + t * weight_count;
    for (std::size_t i = 0; i < weight_count; ++i) weight_gradient[i] += partial[i];
  }
}

// The entry points: float goes to the SIMD direct-convolution kernels (conv2d_fast.hpp) when the
// CPU and the geometry allow (the forward also with dilation or other padding at stride 1:
// conv2d_fast_forward_covers), other 1x1 convolutions without padding to their matrix products
// (conv2d_pointwise.hpp; docs/KERNELS.md says why not before the SIMD kernels), depthwise
// convolutions to their row loops (conv2d_depthwise.hpp), other grouped float ones group by group
// to the SIMD kernels where those cover a group (conv2d_grouped.cpp), stride-1 dilated float ones
// where it pays as ordinary ones on their phase images (conv2d_dilated.hpp; the forward only
// where the direct kernels decline it, which at stride 1 is only for offsets past int32), the
// backward of 1-D dilated ones where their row view fits as an ordinary 2-D one
// (conv2d_dilated_rows.hpp), everything else to the im2col + GEMM path above.
template <typename T>
void conv2d_forward(const ConvGeometry& g, const T* input, const T* weights, const T* bias,
                    T* output, std::vector<T>& workspace, const ConvEpilogue& epilogue) {
  if constexpr (std::is_same_v<T, float>) {
    if (conv2d_forward_fast(g, input, weights, bias, output, workspace, runtime::best_simd_level(),
                            epilogue)) {
      return;
    }
  }
  // The paths without an epilogue of their own: it runs as a pass after, each element by one
  // thread.
  const auto epilogue_pass = [&] {
    const std::size_t n = g.output_size();
    for_chunks(n, n >= kParallelElements, [&](std::size_t begin, std::size_t end) {
      apply_epilogue(epilogue, output, begin, end);
    });
  };
  if (conv2d_forward_pointwise(g, input, weights, bias, output, workspace)) {
    return epilogue_pass();
  }
  if (is_depthwise(g)) {
    conv2d_forward_depthwise(g, input, weights, bias, output, workspace);
    return epilogue_pass();
  }
  if constexpr (std::is_same_v<T, float>) {
    if (conv2d_forward_grouped_fast(g, input, weights, bias, output, workspace)) {
      return epilogue_pass();
    }
    if (conv2d_dilated_pays(g) &&
        conv2d_forward_dilated(g, input, weights, bias, output, workspace)) {
      return epilogue_pass();
    }
  }
  conv2d_forward_gemm(g, input, weights, bias, output, workspace, epilogue);
}

template <typename T>
void conv2d_backward(const ConvGeometry& g, const T* input, const T* weights, const T* error,
                     T* input_error, T* weight_gradient, T* bias_gradient,
                     std::vector<T>& workspace) {
  if constexpr (std::is_same_v<T, float>) {
    if (conv2d_backward_fast(g, input, weights, error, input_error, weight_gradient, bias_gradient,
                             workspace)) {
      return;
    }
  }
  if (conv2d_backward_pointwise(g, input, weights, error, input_error, weight_gradient,
                                bias_gradient, workspace)) {
    return;
  }
  if (is_depthwise(g)) {
    return conv2d_backward_depthwise(g, input, weights, error, input_error, weight_gradient,
                                     bias_gradient, workspace);
  }
  if constexpr (std::is_same_v<T, float>) {
    if (conv2d_backward_grouped_fast(g, input, weights, error, input_error, weight_gradient,
                                     bias_gradient, workspace) ||
        conv2d_backward_dilated_rows(g, input, weights, error, input_error, weight_gradient,
                                     bias_gradient, workspace) ||
        (conv2d_dilated_pays(g) &&
         conv2d_backward_dilated(g, input, weights, error, input_error, weight_gradient,
                                 bias_gradient, workspace))) {
      return;
    }
  }
  conv2d_backward_gemm(g, input, weights, error, input_error, weight_gradient, bias_gradient,
                       workspace);
}

template void conv2d_forward_gemm<float>(const ConvGeometry&, const float*, const float*,
                                         const float*, float*, std::vector<float>&,
                                         const ConvEpilogue&);
template void conv2d_forward_gemm<double>(const ConvGeometry&, const double*, const double*,
                                          const double*, double*, std::vector<double>&,
                                          const ConvEpilogue&);
template void conv2d_backward_gemm<float>(const ConvGeometry&, const float*, const float*,
                                          const float*, float*, float*, float*,
                                          std::vector<float>&);
template void conv2d_backward_gemm<double>(const ConvGeometry&, const double*, const double*,
                                           const double*, double*, double*, double*,
                                           std::vector<double>&);

template void conv2d_forward<float>(const ConvGeometry&, const float*, const float*, const float*,
                                    float*, std::vector<float>&, const ConvEpilogue&);
template void conv2d_forward<double>(const ConvGeometry&, const double*, const double*,
                                     const double*, double*, std::vector<double>&,
                                     const ConvEpilogue&);
template void conv2d_backward<float>(const ConvGeometry&, const float*, const float*, const float*,
                                     float*, float*, float*, std::vector<float>&);
template void conv2d_backward<double>(const ConvGeometry&, const double*, const double*,
                                      const double*, double*, double*, double*,
                                      std::vector<double>&);

}  // namespace cnnkit::kernels
