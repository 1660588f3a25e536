// Data of the kernel-vs-reference tests: random inputs, and results that start as NaN so that a
// kernel must overwrite every element, never accumulate into it.
#pragma once

#include <cstddef>
#include <limits>
#include <random>
#include <vector>

namespace cnnkit::testing {

// Uniform in [-1, 1).
template <typename T>
std::vector<T> random_values(std::size_t count, std::mt19937& engine) {
  std::uniform_real_distribution<T> uniform(T(-1), T(1));
  std::vector<T> values(count);
  for (T& v : values) v = uniform(engine);
  return values;
}

// What a layer's kernels compute: the forward's output and the backward's three results.
template <typename T>
struct KernelResults {
  std::vector<T> output, input_error, weight_gradient, bias_gradient;
};

template <typename T>
KernelResults<T> nan_results(std::size_t output, std::size_t input_error,
                             std::size_t weight_gradient, std::size_t bias_gradient) {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  return {std::vector<T>(output, nan), std::vector<T>(input_error, nan),
          std::vector<T>(weight_gradient, nan), std::vector<T>(bias_gradient, nan)};
}

}  // namespace cnnkit::testing
