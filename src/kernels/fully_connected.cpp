// The fully connected kernels (fully_connected.hpp): which products run (small_gemm or BLAS) and
// how they are shared among the threads. The three products, in the lecture's notation with the
// batch as rows:
//   y = x W + b        small_gemm from the bias row; BLAS as y^T = W^T x^T into the workspace,
//                      then added to the bias (the plain no-transpose form of OpenBLAS 0.3.21's
//                      small-matrix sgemm allocates on some shapes: gemm.hpp)
//   E_{n-1} = E W^T    small_gemm_transposed_b reads W as stored and transposes each panel of
//                      it into the blocks' packed buffer; for a few samples E_{n-1}^T = W E^T
//                      instead, transposing E and the result; BLAS reads W^T as is
//   grad W = x^T E     row i of grad W gains x[n, i] times row n of E for n = 0 .. batch - 1
#include "kernels/fully_connected.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "kernels/gemm.hpp"
#include "kernels/small_gemm.hpp"
#include "runtime/parallel.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

namespace {

// Below this many multiply-adds per block a parallel region costs more than it saves.
constexpr std::size_t kParallelMultiplyAdds = 100'000;
// BLAS may sum in another order for another block shape, so its blocks are cut by the sizes
// alone, never by the thread count, into at most this many: the BLAS path (double, CPUs without
// AVX2) is for gradient checks and portability, where two blocks are enough.
constexpr std::size_t kMaxBlasBlocks = 2;
// E_{n-1}'s columns go to the threads in whole registers (16 floats: one AVX-512 register, two
// AVX2 ones), so that no thread's block splits a register.
constexpr std::size_t kColumnsPerRegister = 16;

// Whether the products go to small_gemm (float on a CPU with AVX2 or AVX-512) or to BLAS.
template <typename T>
bool own_products() {
  return std::is_same_v<T, float> && runtime::best_simd_level() != runtime::SimdLevel::kNone;
}

// At most this many blocks of a product: small_gemm computes every element as one chain of FMAs
// whatever the blocks, so it takes one per thread; BLAS a number fixed by the sizes.
template <typename T>
std::size_t most_blocks() {
  if (own_products<T>()) return runtime::team_size();
  return kMaxBlasBlocks;
}

// Calls block(first_row, row_count) for contiguous blocks covering [0, rows), the blocks shared
// among the threads. Small products stay one block (serial).
template <typename Block>
void for_row_blocks(std::size_t rows, std::size_t multiply_adds_per_row, std::size_t most,
                    const Block& block) {
  const std::size_t by_work = rows * multiply_adds_per_row / kParallelMultiplyAdds;
  const std::size_t blocks = std::max<std::size_t>(1, std::min({most, by_work, rows}));
  // One block per thread at most; runtime/parallel.hpp says why a single block does not enter a
  // parallel region.
  runtime::parallel_for(blocks, true, [&](std::size_t b) {
    const std::size_t first = runtime::share(rows, blocks, b);
    const std::size_t last = runtime::share(rows, blocks, b + 1);
    block(first, last - first);
  });
}

// Calls block(first_column, column_count) for contiguous blocks of whole registers covering
// [0, columns), shared among the threads like for_row_blocks (work_per_column: multiply-adds).
template <typename Block>
void for_register_columns(std::size_t columns, std::size_t work_per_column, std::size_t most,
                          const Block& block) {
  const std::size_t registers = (columns + kColumnsPerRegister - 1) / kColumnsPerRegister;
  for_row_blocks(registers, work_per_column * kColumnsPerRegister, most,
                 [&](std::size_t first_register, std::size_t count) {
                   const std::size_t first = first_register * kColumnsPerRegister;
                   block(first, std::min(count * kColumnsPerRegister, columns - first));
                 });
}

template <typename T>
void grow(std::vector<T>& workspace, std::size_t size) {
  if (workspace.size() < size) workspace.resize(size);
}

// C (m x n) = init + A B with A(r, p) = a[r * a_row + p * a_depth], in small_gemm (float only;
// the callers asked own_products<T>() first).
template <typename T>
void own_product(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t a_row,
                 std::size_t a_depth, const T* b, std::size_t ldb, const T* init, T* c,
                 std::size_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    small_gemm(m, n, k, a, a_row, a_depth, b, ldb, init, c, ldc);
  }
}

// Columns [first, first + columns) of E_{n-1} (batch x inputs) = E (batch x outputs) W^T, W^T
// read from rows [first, first + columns) of W as stored (float only; the caller asked
// own_products<T>()).
template <typename T>
void input_error_columns(const FullyConnectedShape& s, std::size_t first, std::size_t columns,
                         const T* error, const T* weights, T* input_error) {
  if constexpr (std::is_same_v<T, float>) {
    small_gemm_transposed_b(s.batch, columns, s.outputs, error, s.outputs, 1,
                            weights + first * s.outputs, s.outputs, nullptr, input_error + first,
                            s.inputs);
  }
}

// E_{n-1} of a few samples as its transpose, E_{n-1}^T = W E^T: the product then reads W as
// stored and only E (batch x outputs) and the result (inputs x batch) are transposed, less than
// all of W when the batch is small. Each element is the same chain of FMAs as above, in the
// order of the outputs. Below about half a register of samples most lanes would stay idle; the
// bounds are where it was faster on AVX2 and AVX-512 (docs/PERFORMANCE.md).
constexpr std::size_t kFewestSamplesByRows = 8;
constexpr std::size_t kMostSamplesByRows = 32;

// Columns [first, first + columns) of E_{n-1} through rows [first, first + columns) of
// E_{n-1}^T = W E^T, which it writes to `transposed` (inputs x batch), from E^T (outputs x
// batch) at error_t (float only; the caller asked own_products<T>()).
template <typename T>
void input_error_by_rows(const FullyConnectedShape& s, std::size_t first, std::size_t columns,
                         const T* error_t, const T* weights, T* transposed, T* input_error) {
  if constexpr (std::is_same_v<T, float>) {
    T* rows = transposed + first * s.batch;
    small_gemm(columns, s.batch, s.outputs, weights + first * s.outputs, s.outputs, 1, error_t,
               s.batch, nullptr, rows, s.batch);
    transpose_matrix(rows, columns, s.batch, s.batch, input_error + first, s.inputs);
  }
}

}  // namespace

template <typename T>
void fully_connected_forward(const FullyConnectedShape& s, const T* input, const T* weights,
                             const T* bias, T* output, std::vector<T>& workspace) {
  const bool own = own_products<T>();
  if (own && s.outputs > s.batch) {
    // y = b + x W, the bias as each row's starting value. W is the larger operand: the threads
    // take columns of y (whole registers), each reading only its columns of W, rather than rows
    // of y, for which each would read all of W.
    for_register_columns(s.outputs, s.batch * s.inputs, most_blocks<T>(),
                         [&](std::size_t first, std::size_t columns) {
                           own_product<T>(s.batch, columns, s.inputs, input, s.inputs, 1,
                                          weights + first, s.outputs, bias + first, output + first,
                                          s.outputs);
                         });
    return;
  }
  if (!own) grow(workspace, s.batch * s.outputs);
  for_row_blocks(
      s.batch, s.inputs * s.outputs, most_blocks<T>(), [&](std::size_t first, std::size_t rows) {
        // y = b + x W, the bias as each row's starting value: the threads take rows of y.
        if (own) {
          own_product<T>(rows, s.outputs, s.inputs, input + first * s.inputs, s.inputs, 1, weights,
                         s.outputs, bias, output + first * s.outputs, s.outputs);
          return;
        }
        T* transposed = workspace.data() + first * s.outputs;  // (outputs, rows)
        gemm<T>(Transpose::kYes, Transpose::kYes, s.outputs, rows, s.inputs, T(1), weights,
                s.outputs, input + first * s.inputs, s.inputs, T(0), transposed, rows);
        // The lecture's extra input column of ones: every row of y starts at the bias.
        for (std::size_t n = 0; n < rows; ++n) {
          T* y = output + (first + n) * s.outputs;
          for (std::size_t j = 0; j < s.outputs; ++j) {
            y[j] = bias[j] + transposed[j * rows + n];
          }
        }
      });
}

template <typename T>
void fully_connected_backward(const FullyConnectedShape& s, const T* input, const T* weights,
                              const T* error, T* input_error, T* weight_gradient, T* bias_gradient,
                              std::vector<T>& workspace) {
  const bool own = own_products<T>();
  const std::size_t most = most_blocks<T>();
  // E_{n-1} = E W^T: (batch, outputs) x (outputs, inputs), written in full (beta = 0).
  if (input_error != nullptr && own && s.batch >= kFewestSamplesByRows &&
      s.batch <= kMostSamplesByRows) {
    // E^T once (a few KiB), then the columns of E_{n-1} cut among the threads in whole
    // registers, each thread's through its rows of E_{n-1}^T.
    grow(workspace, (s.outputs + s.inputs) * s.batch);
    T* error_t = workspace.data();
    T* transposed = error_t + s.outputs * s.batch;
    if constexpr (std::is_same_v<T, float>) {
      transpose_matrix(error, s.batch, s.outputs, s.outputs, error_t, s.batch);
    }
    for_register_columns(
        s.inputs, s.batch * s.outputs, most, [&](std::size_t first, std::size_t columns) {
          input_error_by_rows<T>(s, first, columns, error_t, weights, transposed, input_error);
        });
  } else if (input_error != nullptr && own) {
    // The columns of E_{n-1} are cut among the threads in whole registers.
    for_register_columns(s.inputs, s.batch * s.outputs, most,
                         [&](std::size_t first, std::size_t columns) {
                           input_error_columns<T>(s, first, columns, error, weights, input_error);
                         });
  } else if (input_error != nullptr) {
    // BLAS: the batch rows split across threads.
    for_row_blocks(s.batch, s.inputs * s.outputs, most, [&](std::size_t first, std::size_t rows) {
      gemm<T>(Transpose::kNo, Transpose::kYes, rows, s.inputs, s.outputs, T(1),
              error + first * s.outputs, s.outputs, weights, s.outputs, T(0),
              input_error + first * s.inputs, s.inputs);
    });
  }
  // grad W = x^T E: (inputs, batch) x (batch, outputs); the rows of grad W (one per input) split
  // across threads, each row a sum over the whole batch in batch order.
  for_row_blocks(s.inputs, s.batch * s.outputs, most, [&](std::size_t first, std::size_t rows) {
    // Row i of grad W gains x[n, i] times row n of E for n = 0 .. batch - 1: A = x^T.
    if (own) {
      own_product<T>(rows, s.outputs, s.batch, input + first, 1, s.inputs, error, s.outputs,
                     nullptr, weight_gradient + first * s.outputs, s.outputs);
      return;
    }
    gemm<T>(Transpose::kYes, Transpose::kNo, rows, s.outputs, s.batch, T(1), input + first,
            s.inputs, error, s.outputs, T(0), weight_gradient + first * s.outputs, s.outputs);
  });
  // grad b = column sums of E (the bias row sees an input of 1 in every sample).
  std::fill(bias_gradient, bias_gradient + s.outputs, T(0));
  for (std::size_t n = 0; n < s.batch; ++n) {
    const T* row = error + n * s.outputs;
    for (std::size_t j = 0; j < s.outputs; ++j) bias_gradient[j] += row[j];
  }
}

template void fully_connected_forward<float>(const FullyConnectedShape&, const float*, const float*,
                                             const float*, float*, std::vector<float>&);
template void fully_connected_forward<double>(const FullyConnectedShape&, const double*,
                                              const double*, const double*, double*,
                                              std::vector<double>&);
template void fully_connected_backward<float>(const FullyConnectedShape&, const float*,
                                              const float*, const float*, float*, float*, float*,
                                              std::vector<float>&);
template void fully_connected_backward<double>(const FullyConnectedShape&, const double*,
                                               const double*, const double*, double*, double*,
                                               double*, std::vector<double>&);

}  // namespace cnnkit::kernels
