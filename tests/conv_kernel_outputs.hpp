// What one convolution kernel call writes (forward and backward), for the kernel tests: poisoned
// with NaN before the call, so that a comparison sees every element the kernel leaves unwritten.
#pragma once

#include <limits>
#include <vector>

#include "kernels/conv_geometry.hpp"

namespace cnnkit::testing {

template <typename T>
struct ConvOutputs {
  std::vector<T> output, input_error, weight_gradient, bias_gradient;

  static ConvOutputs poisoned(const kernels::ConvGeometry& g) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    return {std::vector<T>(g.output_size(), nan), std::vector<T>(g.input_size(), nan),
            std::vector<T>(g.weights_size(), nan), std::vector<T>(g.kernels, nan)};
  }
};

}  // namespace cnnkit::testing
