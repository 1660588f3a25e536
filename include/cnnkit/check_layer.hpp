// check_layer: runs a layer through the contract of layer.hpp, for the authors of user layers and
// for the built-in layers' own tests. It checks
// - shapes: forward() returns output_shape(input shape), backward() the input's shape;
// - gradients: backward()'s input error and parameter gradients against finite differences
//   (gradient_check.hpp, through an L2 loss);
// - assignment: a second pass whose output, input-error and gradient buffers were filled with
//   NaN before each call gives the first pass's results bit for bit, so forward() and
//   backward() assign every element instead of adding to what the buffer held;
// - the calls' order: backward() after a testing-phase forward(), and a second backward() after
//   one forward(), throw std::logic_error.
// Use double: float's rounding hides gradient errors. The layer must have no optimizer (its
// weights stay as they are); its phase and input_error_needed() are restored afterwards.
#pragma once

#include <string>
#include <vector>

#include "cnnkit/gradient_check.hpp"
#include "cnnkit/layer.hpp"

namespace cnnkit {

struct LayerCheckOptions {
  // The largest relative error accepted per element: rounding in the finite differences of a
  // small gradient reaches a few 1e-6, a wrong formula 1e-1 and more.
  double gradient_tolerance = 1e-5;
  double step = 1e-5;            // the finite-difference step
  double absolute_floor = 1e-9;  // gradients below this on both sides count as equal
};

struct LayerCheckResult {
  std::vector<std::string> failures;  // one sentence per broken rule; empty when it passes
  GradientCheckResult gradients;      // the gradient check's entries, for a report

  bool passed() const { return failures.empty(); }
  std::string report() const;  // the failures, one per line
};

// `input` is a batch the layer accepts. Throws std::invalid_argument when a parameter has an
// optimizer; a layer that throws from forward() or backward() on the input passes that on.
template <typename T>
LayerCheckResult check_layer(Layer<T>& layer, const Tensor<T>& input,
                             const LayerCheckOptions& options = {});

extern template LayerCheckResult check_layer<float>(Layer<float>&, const Tensor<float>&,
                                                    const LayerCheckOptions&);
extern template LayerCheckResult check_layer<double>(Layer<double>&, const Tensor<double>&,
                                                     const LayerCheckOptions&);

}  // namespace cnnkit
