// Fully connected kernels, apart from the FullyConnected layer. For a batch x of `batch` rows of
// `inputs` values, weights W (inputs, outputs) and bias b (outputs), all row-major:
//   forward:  y = x W + b                    (batch, outputs)
//   backward: E_{n-1} = E W^T                (batch, inputs)
//             grad W  = x^T E                (inputs, outputs)
//             grad b  = sum over the batch of E
// The fast versions pick the products themselves: float on a CPU with AVX2 or AVX-512 runs
// cnnkit's own SIMD blocks (small_gemm.hpp), where every element is one chain of fused
// multiply-adds in reduction order; double, and float on other CPUs, call BLAS (gemm.hpp). They
// share each product among the threads in blocks of rows (E_{n-1}, and y when W is larger than x:
// of columns, so that each thread reads only its part of W) whose cut never changes what an
// element sums or in which order, so the results are the same bits on any number of threads.
// Every fast kernel has a plain-loop *_reference twin that the tests compare it against.
#pragma once

#include <cstddef>
#include <vector>

namespace cnnkit::kernels {

struct FullyConnectedShape {
  std::size_t batch;    // rows of x, y and E
  std::size_t inputs;   // input_size: columns of x, rows of W
  std::size_t outputs;  // output_size: columns of W, y and E
};

// y = x W + b, y written in full. `workspace` is scratch memory the kernel may grow and reuse
// between calls (the layer keeps it, so a steady-state step allocates nothing).
template <typename T>
void fully_connected_forward(const FullyConnectedShape& s, const T* input, const T* weights,
                             const T* bias, T* output, std::vector<T>& workspace);

// From the error E (batch, outputs): input_error = E W^T, weight_gradient = x^T E, bias_gradient
// = the column sums of E, all three overwritten, not accumulated into. input_error may be null:
// the input error is then not computed (nobody reads the error for a network's input).
// `workspace` as in the forward pass (a few samples' input error goes through E^T and
// E_{n-1}^T there; W^T is never copied whole).
template <typename T>
void fully_connected_backward(const FullyConnectedShape& s, const T* input, const T* weights,
                              const T* error, T* input_error, T* weight_gradient, T* bias_gradient,
                              std::vector<T>& workspace);

// The same contracts as plain loops on the calling thread: every element of a product is one
// chain of std::fma in reduction order from the bias (or zero), the bias gradient plain sums in
// batch order. The fast float path gives the same bits; BLAS agrees up to rounding.
template <typename T>
void fully_connected_forward_reference(const FullyConnectedShape& s, const T* input,
                                       const T* weights, const T* bias, T* output);

template <typename T>
void fully_connected_backward_reference(const FullyConnectedShape& s, const T* input,
                                        const T* weights, const T* error, T* input_error,
                                        T* weight_gradient, T* bias_gradient);

}  // namespace cnnkit::kernels
