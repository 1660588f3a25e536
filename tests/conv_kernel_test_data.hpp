// Data of the convolution kernel tests (the fast, pointwise and dilated kernels against the
// reference): random inputs for a geometry, results poisoned with NaN, the reference kernel's
// results in double with each result's sum of |terms|, and the element-wise comparison with them.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_test_data.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv_geometry.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::testing {

// The SIMD levels of the kernels (AVX2, AVX-512) that this CPU runs, narrowest first.
inline std::vector<runtime::SimdLevel> simd_kernel_levels() {
  std::vector<runtime::SimdLevel> levels;
  for (const runtime::SimdLevel level : {runtime::SimdLevel::kAvx2, runtime::SimdLevel::kAvx512}) {
    if (level <= runtime::best_simd_level()) levels.push_back(level);
  }
  return levels;
}

// A geometry of a kernel test and what it exercises.
struct ConvCase {
  kernels::ConvGeometry g;
  const char* what;
};

// g with taps dy rows and dx columns apart.
inline kernels::ConvGeometry dilated(kernels::ConvGeometry g, std::size_t dy, std::size_t dx) {
  g.dilation_y = dy;
  g.dilation_x = dx;
  return g;
}

// g with explicit zero padding instead of "same".
inline kernels::ConvGeometry padded(kernels::ConvGeometry g, std::size_t top, std::size_t bottom,
                                    std::size_t left, std::size_t right) {
  g.explicit_padding = true;
  g.pad_top = top;
  g.pad_bottom = bottom;
  g.pad_left = left;
  g.pad_right = right;
  return g;
}

// The geometry in a failure message: "N2 C3 7x8 K4 3x3 s1,1 d1,1 pads 1,1,1,1".
inline std::string describe(const kernels::ConvGeometry& g) {
  // A stream rather than operator+ chains: g++ 12 warns falsely (-Wrestrict) on those.
  std::ostringstream out;
  out << 'N' << g.batch << " C" << g.channels << ' ' << g.in_y << 'x' << g.in_x << " K" << g.kernels
      << ' ' << g.kernel_y << 'x' << g.kernel_x << " s" << g.stride_y << ',' << g.stride_x << " d"
      << g.dilation_y << ',' << g.dilation_x << " pads " << g.pad_y_before() << ','
      << g.pad_y_after() << ',' << g.pad_x_before() << ',' << g.pad_x_after();
  return out.str();
}

template <typename T>
struct ConvData {
  std::vector<T> input, weights, bias, error;
};

template <typename T>
ConvData<T> random_conv_data(const kernels::ConvGeometry& g, unsigned seed) {
  std::mt19937 engine(seed);
  ConvData<T> d;
  d.input = random_values<T>(g.input_size(), engine);
  d.weights = random_values<T>(g.weights_size(), engine);
  d.bias = random_values<T>(g.kernels, engine);
  d.error = random_values<T>(g.output_size(), engine);
  return d;
}

// What a kernel call writes, all NaN before it: every element must be written.
template <typename T>
KernelResults<T> nan_conv_results(const kernels::ConvGeometry& g) {
  return nan_results<T>(g.output_size(), g.input_size(), g.weights_size(), g.kernels);
}

// The reference kernel in double on the data, or with `absolute` on the data's magnitudes: then
// each result is the sum of its terms' |values|, the scale of a float sum's rounding error.
template <typename T>
KernelResults<double> conv_reference(const kernels::ConvGeometry& g, const ConvData<T>& d,
                                     bool absolute) {
  const auto widened = [absolute](const std::vector<T>& v) {
    std::vector<double> w(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      w[i] = absolute ? std::fabs(static_cast<double>(v[i])) : static_cast<double>(v[i]);
    }
    return w;
  };
  const std::vector<double> x = widened(d.input), w = widened(d.weights), b = widened(d.bias),
                            e = widened(d.error);
  KernelResults<double> out = nan_conv_results<double>(g);
  kernels::conv2d_forward_reference(g, x.data(), w.data(), b.data(), out.output.data());
  kernels::conv2d_backward_reference(g, x.data(), w.data(), e.data(), out.input_error.data(),
                                     out.weight_gradient.data(), out.bias_gradient.data());
  return out;
}

// |value - exact| <= relative * magnitude + absolute, element by element (the first 5 failures
// shown).
template <typename T>
void expect_close_to_reference(const std::vector<T>& values, const std::vector<double>& exact,
                               const std::vector<double>& magnitude, double relative,
                               double absolute, const std::string& what) {
  ASSERT_EQ(values.size(), exact.size()) << what;
  std::size_t failures = 0;
  for (std::size_t i = 0; i < values.size() && failures < 5; ++i) {
    const double bound = relative * magnitude[i] + absolute;
    if (!(std::fabs(static_cast<double>(values[i]) - exact[i]) <= bound)) {
      ADD_FAILURE() << what << " element " << i << ": kernel " << values[i] << ", reference "
                    << exact[i] << ", allowed error " << bound;
      ++failures;
    }
  }
}

// A float kernel path that may decline a geometry (conv2d_forward_grouped_fast and
// conv2d_backward_grouped_fast, the dilated row view, ...), as a pair of its two passes.
using FloatForwardPath = bool (*)(const kernels::ConvGeometry&, const float*, const float*,
                                  const float*, float*, std::vector<float>&, runtime::SimdLevel);
using FloatBackwardPath = bool (*)(const kernels::ConvGeometry&, const float*, const float*,
                                   const float*, float*, float*, float*, std::vector<float>&,
                                   runtime::SimdLevel);

// Both passes of such a path at `level`; the results start as NaN and the workspace of
// `workspace_floats` full of NaN, so every element must be written and nothing stale may leak in.
inline KernelResults<float> run_both_passes(const kernels::ConvGeometry& g,
                                            const ConvData<float>& d, FloatForwardPath forward,
                                            FloatBackwardPath backward,
                                            std::size_t workspace_floats,
                                            runtime::SimdLevel level) {
  KernelResults<float> o = nan_conv_results<float>(g);
  std::vector<float> workspace(workspace_floats, std::nanf(""));
  EXPECT_TRUE(forward(g, d.input.data(), d.weights.data(), d.bias.data(), o.output.data(),
                      workspace, level));
  std::fill(workspace.begin(), workspace.end(), std::nanf(""));
  EXPECT_TRUE(backward(g, d.input.data(), d.weights.data(), d.error.data(), o.input_error.data(),
                       o.weight_gradient.data(), o.bias_gradient.data(), workspace, level));
  return o;
}

// The four results of a kernel against the reference's on the same data.
template <typename T>
void expect_conv_results_close(const kernels::ConvGeometry& g, const ConvData<T>& d,
                               const KernelResults<T>& results, double relative, double absolute) {
  const KernelResults<double> exact = conv_reference(g, d, false);
  const KernelResults<double> magnitude = conv_reference(g, d, true);
  expect_close_to_reference(results.output, exact.output, magnitude.output, relative, absolute,
                            "forward");
  expect_close_to_reference(results.input_error, exact.input_error, magnitude.input_error, relative,
                            absolute, "input error");
  expect_close_to_reference(results.weight_gradient, exact.weight_gradient,
                            magnitude.weight_gradient, relative, absolute, "weight gradient");
  expect_close_to_reference(results.bias_gradient, exact.bias_gradient, magnitude.bias_gradient,
                            relative, absolute, "bias gradient");
}

}  // namespace cnnkit::testing
