// Adam's update of one parameter tensor (lecture: "ADAM"), element by element:
//   v = mu v + (1 - mu) g        r = rho r + (1 - rho) g.g
//   w -= eta (v / (1 - mu^k)) / (sqrt(r / (1 - rho^k)) + eps)
// w, v, r and g hold n values each; the two bias corrections come in as their inverses.
// Run on the widest vectors the CPU has (AVX-512, AVX2 or the baseline, picked at run time) and
// split across threads for large tensors. Every operation is an IEEE one (no fused multiply-add,
// sqrt and division correctly rounded), so the result is the same bits at every vector width and
// on any thread count. tests/adam_kernel_test.cpp holds it to the plain loop.
#pragma once

#include <cstddef>

namespace cnnkit::kernels {

template <typename T>
struct AdamStep {
  T mu, rho, learning_rate, epsilon;
  T inverse_correction_v, inverse_correction_r;  // 1 / (1 - mu^k), 1 / (1 - rho^k)
};

template <typename T>
void adam_update(T* w, T* v, T* r, const T* g, std::size_t n, const AdamStep<T>& step);

// The same on the calling thread at the baseline vector width: the reference for the tests.
template <typename T>
void adam_update_reference(T* w, T* v, T* r, const T* g, std::size_t n, const AdamStep<T>& step);

}  // namespace cnnkit::kernels
