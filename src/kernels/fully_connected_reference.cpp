// The definition of the fully connected layer's arithmetic as plain loops (lecture: "Fully
// Connected Layer", with the batch as rows: y = x W + b, E_{n-1} = E W^T, grad W = x^T E, grad b
// = the sum of E over the batch). Each element of a product is one chain of std::fma in reduction
// order, the order the fast float kernels keep; speed does not matter here.
#include <algorithm>
#include <cmath>
#include <cstddef>

#include "kernels/fully_connected.hpp"

namespace cnnkit::kernels {

template <typename T>
void fully_connected_forward_reference(const FullyConnectedShape& s, const T* input,
                                       const T* weights, const T* bias, T* output) {
  for (std::size_t n = 0; n < s.batch; ++n) {
    for (std::size_t j = 0; j < s.outputs; ++j) {
      T sum = bias[j];
      for (std::size_t i = 0; i < s.inputs; ++i) {
        sum = std::fma(input[n * s.inputs + i], weights[i * s.outputs + j], sum);
      }
      output[n * s.outputs + j] = sum;
    }
  }
}

template <typename T>
void fully_connected_backward_reference(const FullyConnectedShape& s, const T* input,
                                        const T* weights, const T* error, T* input_error,
                                        T* weight_gradient, T* bias_gradient) {
  if (input_error != nullptr) {
    // E_{n-1}[n, i] = sum over j of E[n, j] W[i, j]
    for (std::size_t n = 0; n < s.batch; ++n) {
      for (std::size_t i = 0; i < s.inputs; ++i) {
        T sum = 0;
        for (std::size_t j = 0; j < s.outputs; ++j) {
          sum = std::fma(error[n * s.outputs + j], weights[i * s.outputs + j], sum);
        }
        input_error[n * s.inputs + i] = sum;
      }
    }
  }
  // grad W[i, j] = sum over n of x[n, i] E[n, j]
  for (std::size_t i = 0; i < s.inputs; ++i) {
    for (std::size_t j = 0; j < s.outputs; ++j) {
      T sum = 0;
      for (std::size_t n = 0; n < s.batch; ++n) {
        sum = std::fma(input[n * s.inputs + i], error[n * s.outputs + j], sum);
      }
      weight_gradient[i * s.outputs + j] = sum;
    }
  }
  // grad b[j] = sum over n of E[n, j]
  std::fill(bias_gradient, bias_gradient + s.outputs, T(0));
  for (std::size_t n = 0; n < s.batch; ++n) {
    for (std::size_t j = 0; j < s.outputs; ++j) bias_gradient[j] += error[n * s.outputs + j];
  }
}

template void fully_connected_forward_reference<float>(const FullyConnectedShape&, const float*,
                                                       const float*, const float*, float*);
template void fully_connected_forward_reference<double>(const FullyConnectedShape&, const double*,
                                                        const double*, const double*, double*);
template void fully_connected_backward_reference<float>(const FullyConnectedShape&, const float*,
                                                        const float*, const float*, float*, float*,
                                                        float*);
template void fully_connected_backward_reference<double>(const FullyConnectedShape&, const double*,
                                                         const double*, const double*, double*,
                                                         double*, double*);

}  // namespace cnnkit::kernels
