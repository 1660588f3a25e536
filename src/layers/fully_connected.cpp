// FullyConnected<T>: the fully connected layer of the basic framework the lecture builds on, for a
// batch x of shape (batch, input_size) stored row by row:
//   forward:  y = x W + b                 (the lecture's y = W x with the bias as an extra input 1)
//   backward: E_{n-1} = E_n W^T           (error for the layer below, with forward's W)
//             grad W  = x^T E_n           (lecture: nabla W = E_n x^T, transposed for row-major)
//             grad b  = sum over the batch of E_n
// Only then do the weights and the bias take their optimizer steps.
// Products: for float, cnnkit's own SIMD blocks (kernels/small_gemm.hpp: the same speed whatever
// BLAS the machine has; every element one chain of FMAs in order); for double, or a CPU without
// AVX2, BLAS. Threads: each product is cut into blocks of rows of its result (E_{n-1} through
// small_gemm: of columns), one call per block, the cut fixed by the sizes, so every element is
// computed by exactly one thread in the same order as on one thread.
#include "cnnkit/layers/fully_connected.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "check.hpp"
#include "cnnkit/threading.hpp"
#include "kernels/gemm.hpp"
#include "kernels/parallel.hpp"
#include "kernels/simd_level.hpp"
#include "kernels/small_gemm.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "FullyConnected";

std::size_t checked_size(std::size_t size, const char* what) {
  detail::require(size > 0, kName, std::string(what) + " above 0", std::to_string(size));
  return size;
}

// Uniform in [0, 1) from the library's seeded engine (the lecture's "Uniform" initializer).
template <typename T>
Tensor<T> uniform_random(const Shape& shape, std::size_t fan_in, std::size_t fan_out) {
  UniformRandom<T> uniform;
  return uniform.initialize(shape, fan_in, fan_out);
}

// Below this many multiply-adds per block a parallel region costs more than it saves.
constexpr std::size_t kParallelMultiplyAdds = 100'000;
// At most this many blocks: one per core on the 2-core target; more cost the serial run.
constexpr std::size_t kMaxBlocks = 2;

// Calls block(first_row, row_count) for contiguous blocks covering [0, rows), the blocks shared
// among the threads. The cut depends only on the sizes, never on the thread count: BLAS may sum
// in another order for another block shape, and this keeps every result bit-identical on any
// number of threads. Small products stay one block (serial).
template <typename Block>
void for_row_blocks(std::size_t rows, std::size_t multiply_adds_per_row, const Block& block) {
  const std::size_t by_work = rows * multiply_adds_per_row / kParallelMultiplyAdds;
  const std::size_t blocks = std::max<std::size_t>(1, std::min({kMaxBlocks, by_work, rows}));
  // One block per thread at most (blocks <= kMaxBlocks); kernels/parallel.hpp says why a
  // single block does not enter a parallel region.
  kernels::parallel_for(blocks, true, [&](std::size_t b) {
    const std::size_t first = kernels::share(rows, blocks, b);
    const std::size_t last = kernels::share(rows, blocks, b + 1);
    block(first, last - first);
  });
}

// C (m x n) = init + A B with A(r, p) = a[r * a_row + p * a_depth], in small_gemm (float only;
// the callers asked own_products<T>() first).
template <typename T>
void own_product(std::size_t m, std::size_t n, std::size_t k, const T* a, std::size_t a_row,
                 std::size_t a_depth, const T* b, std::size_t ldb, const T* init, T* c,
                 std::size_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    kernels::small_gemm(m, n, k, a, a_row, a_depth, b, ldb, init, c, ldc);
  }
}

// Columns [first, first + columns) of E_{n-1} (batch x in) = E_n (batch x out) W^T: rows
// [first, first + columns) of W (in x out) into columns of its transpose (out x in), then the
// product through them (float only; the caller asked own_products<T>()).
template <typename T>
void transpose_and_multiply(std::size_t batch, std::size_t columns, std::size_t out, const T* error,
                            const T* weights, T* transposed, std::size_t first, std::size_t in,
                            T* input_error) {
  if constexpr (std::is_same_v<T, float>) {
    kernels::transpose_matrix(weights + first * out, columns, out, out, transposed + first, in);
    kernels::small_gemm(batch, columns, out, error, out, 1, transposed + first, in, nullptr,
                        input_error + first, in);
  }
}

// Whether the products go to small_gemm (float on a CPU with AVX2 or AVX-512) or to BLAS.
template <typename T>
bool own_products() {
  return std::is_same_v<T, float> && kernels::best_simd_level() != kernels::SimdLevel::kNone;
}

}  // namespace

template <typename T>
FullyConnected<T>::FullyConnected(std::size_t input_size, std::size_t output_size)
    : input_size_(checked_size(input_size, "input_size")),
      output_size_(checked_size(output_size, "output_size")),
      weights_("weights", uniform_random<T>({input_size, output_size}, input_size, output_size)),
      bias_("bias", uniform_random<T>({1, output_size}, input_size, output_size)) {}

template <typename T>
Shape FullyConnected<T>::output_shape(const Shape& input_shape) const {
  if (input_shape.size() != 2 || input_shape[1] != input_size_) {
    detail::fail(kName, "input of shape [batch, " + std::to_string(input_size_) + "]",
                 to_string(input_shape));
  }
  return {input_shape[0], output_size_};
}

template <typename T>
std::size_t FullyConnected<T>::forward_flops(const Shape& input_shape) const {
  const std::size_t batch = output_shape(input_shape)[0];
  return 2 * batch * input_size_ * output_size_;
}

template <typename T>
void FullyConnected<T>::check_parameter_shapes() const {
  // parameters() hands out the tensors themselves; the matrix products below trust these shapes.
  detail::require_shape(weights_.value.shape(), {input_size_, output_size_}, kName, "weights");
  detail::require_shape(bias_.value.shape(), {1, output_size_}, kName, "bias");
}

template <typename T>
Tensor<T> FullyConnected<T>::compute_output(const Tensor<T>& input) {
  const Shape shape = output_shape(input.shape());
  check_parameter_shapes();
  const std::size_t batch = shape[0];
  Tensor<T> output = this->new_output(shape);  // written in full below
  // y = x W + b, the batch rows split across threads. small_gemm computes it directly, each row
  // starting from the bias. BLAS computes it as y^T = W^T x^T (both
  // operands transposed) into a workspace, which is then added to the bias row by row: with
  // no operand transposed, OpenBLAS 0.3.21's small-matrix kernel (SkylakeX and later) allocates
  // scratch memory on every call for about a third of all shapes (W1's 120 -> 84 layer among
  // them), while its other three forms never did in 1890 shapes tried. Same speed within a few
  // per cent on W1's layers.
  const T* bias = bias_.value.data();
  const bool own = own_products<T>();
  if (!own && transposed_output_.size() < batch * output_size_) {
    transposed_output_.resize(batch * output_size_);
  }
  for_row_blocks(batch, input_size_ * output_size_, [&](std::size_t first, std::size_t rows) {
    // y = b + x W, the bias as each row's starting value.
    if (own) {
      own_product<T>(rows, output_size_, input_size_, input.data() + first * input_size_,
                     input_size_, 1, weights_.value.data(), output_size_, bias,
                     output.data() + first * output_size_, output_size_);
      return;
    }
    T* transposed = transposed_output_.data() + first * output_size_;  // (out, rows)
    kernels::gemm<T>(kernels::Transpose::kYes, kernels::Transpose::kYes, output_size_, rows,
                     input_size_, T(1), weights_.value.data(), output_size_,
                     input.data() + first * input_size_, input_size_, T(0), transposed, rows);
    // The lecture's extra input column of ones: every row of y starts at the bias.
    for (std::size_t n = 0; n < rows; ++n) {
      T* y = output.data() + (first + n) * output_size_;
      for (std::size_t j = 0; j < output_size_; ++j) y[j] = bias[j] + transposed[j * rows + n];
    }
  });
  return output;
}

template <typename T>
Tensor<T> FullyConnected<T>::forward(const Tensor<T>& input) {
  Tensor<T> output = compute_output(input);
  this->keep_input(input_, input);
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> FullyConnected<T>::forward_handed_over(Tensor<T>&& input) {
  Tensor<T> output = compute_output(input);
  this->keep_input(input_, std::move(input));
  return output;
}

template <typename T>
Tensor<T> FullyConnected<T>::backward(const Tensor<T>& error_tensor) {
  this->require_fresh_forward();  // a training-phase forward() kept input_ of rank 2
  const std::size_t batch = input_.dim(0);
  detail::require_shape(error_tensor.shape(), {batch, output_size_}, kName, "error_tensor");
  check_parameter_shapes();
  if (weights_.gradient.shape() != weights_.value.shape()) {
    weights_.gradient = Tensor<T>(weights_.value.shape());
  }
  if (bias_.gradient.shape() != bias_.value.shape()) {
    bias_.gradient = Tensor<T>(bias_.value.shape());
  }

  // E_{n-1} = E_n W^T: (batch, out) x (out, in), with the weights forward() used. Written in
  // full (beta = 0). (Skipped, its values left unspecified, when the layer below needs no error.)
  Tensor<T> input_error = this->new_input_error({batch, input_size_});
  const bool own = own_products<T>();
  if (this->input_error_needed() && own) {
    // small_gemm reads rows of the right-hand matrix, W^T (output_size, input_size): the columns
    // of E_{n-1} are cut among the threads in whole registers (16 floats), and each thread
    // transposes the rows of W its columns need, then multiplies (no thread waits for another's
    // transpose; the cut changes no bits, every element being one chain of FMAs).
    transposed_weights_.resize(input_size_ * output_size_);  // no allocation after the first
    constexpr std::size_t kRegister = 16;
    const std::size_t registers = (input_size_ + kRegister - 1) / kRegister;
    for_row_blocks(registers, batch * output_size_ * kRegister,
                   [&](std::size_t first_register, std::size_t count) {
                     const std::size_t first = first_register * kRegister;
                     const std::size_t columns = std::min(count * kRegister, input_size_ - first);
                     transpose_and_multiply<T>(batch, columns, output_size_, error_tensor.data(),
                                               weights_.value.data(), transposed_weights_.data(),
                                               first, input_size_, input_error.data());
                   });
  } else if (this->input_error_needed()) {
    // BLAS: the batch rows split across threads.
    for_row_blocks(batch, input_size_ * output_size_, [&](std::size_t first, std::size_t rows) {
      kernels::gemm<T>(kernels::Transpose::kNo, kernels::Transpose::kYes, rows, input_size_,
                       output_size_, T(1), error_tensor.data() + first * output_size_, output_size_,
                       weights_.value.data(), output_size_, T(0),
                       input_error.data() + first * input_size_, input_size_);
    });
  }
  // grad W = x^T E_n: (in, batch) x (batch, out); the rows of grad W (one per input) split
  // across threads, each row a sum over the whole batch in batch order.
  for_row_blocks(input_size_, batch * output_size_, [&](std::size_t first, std::size_t rows) {
    // Row i of grad W gains x[n, i] times row n of E_n for n = 0 .. batch - 1: A = x^T.
    if (own) {
      own_product<T>(rows, output_size_, batch, input_.data() + first, 1, input_size_,
                     error_tensor.data(), output_size_, nullptr,
                     weights_.gradient.data() + first * output_size_, output_size_);
      return;
    }
    kernels::gemm<T>(kernels::Transpose::kYes, kernels::Transpose::kNo, rows, output_size_, batch,
                     T(1), input_.data() + first, input_size_, error_tensor.data(), output_size_,
                     T(0), weights_.gradient.data() + first * output_size_, output_size_);
  });
  // grad b = column sums of E_n (the bias row sees an input of 1 in every sample).
  bias_.gradient.fill(T(0));
  for (std::size_t n = 0; n < batch; ++n) {
    const T* row = error_tensor.data() + n * output_size_;
    for (std::size_t j = 0; j < output_size_; ++j) bias_.gradient[j] += row[j];
  }
  weights_.apply_update();
  bias_.apply_update();
  this->note_backward();
  return input_error;
}

template <typename T>
void FullyConnected<T>::initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) {
  // Lecture: fan_in = input size, fan_out = output size, for the weights and the bias alike.
  Tensor<T> weights =
      weights_init.initialize({input_size_, output_size_}, input_size_, output_size_);
  Tensor<T> bias = bias_init.initialize({1, output_size_}, input_size_, output_size_);
  detail::require_shape(weights.shape(), {input_size_, output_size_}, kName,
                        "weights from the initializer");
  detail::require_shape(bias.shape(), {1, output_size_}, kName, "bias from the initializer");
  weights_.value = std::move(weights);
  bias_.value = std::move(bias);
}

template <typename T>
Tensor<T> FullyConnected<T>::weights() const {
  check_parameter_shapes();
  Tensor<T> combined({input_size_ + 1, output_size_});
  std::copy(weights_.value.begin(), weights_.value.end(), combined.begin());
  std::copy(bias_.value.begin(), bias_.value.end(), combined.begin() + weights_.value.size());
  return combined;
}

template <typename T>
void FullyConnected<T>::set_weights(const Tensor<T>& weights_with_bias_row) {
  detail::require_shape(weights_with_bias_row.shape(), {input_size_ + 1, output_size_}, kName,
                        "weights (with the bias as last row)");
  const auto bias_row = weights_with_bias_row.begin() + input_size_ * output_size_;
  // New tensors rather than copies into the old buffers: those may have been reshaped through
  // parameters().
  weights_.value = Tensor<T>({input_size_, output_size_},
                             std::vector<T>(weights_with_bias_row.begin(), bias_row));
  bias_.value = Tensor<T>({1, output_size_}, std::vector<T>(bias_row, weights_with_bias_row.end()));
}

template <typename T>
Tensor<T> FullyConnected<T>::gradient_weights() const {
  detail::require_shape(weights_.gradient.shape(), {input_size_, output_size_}, kName,
                        "weights gradient");
  detail::require_shape(bias_.gradient.shape(), {1, output_size_}, kName, "bias gradient");
  Tensor<T> combined({input_size_ + 1, output_size_});
  std::copy(weights_.gradient.begin(), weights_.gradient.end(), combined.begin());
  std::copy(bias_.gradient.begin(), bias_.gradient.end(),
            combined.begin() + weights_.gradient.size());
  return combined;
}

template class FullyConnected<float>;
template class FullyConnected<double>;

}  // namespace cnnkit
