// Numerical gradient checks: compare the analytic gradients that backward() computes against
// central finite differences (f(w + h) - f(w - h)) / 2h of the loss, for the input and for every
// parameter of every layer of a chain. Use double for meaningful results.
#pragma once

#include <string>
#include <vector>

#include "cnnkit/graph.hpp"
#include "cnnkit/layer.hpp"
#include "cnnkit/loss.hpp"

namespace cnnkit {

struct GradientCheckEntry {
  std::string what;           // "input", "layer 0 (Conv) weights", ...
  double max_relative_error;  // worst element of that tensor
};

struct GradientCheckResult {
  std::vector<GradientCheckEntry> entries;
  double worst() const;  // the largest max_relative_error of all entries
};

// Runs input -> layers -> loss(label), then checks every element of the input and of each
// parameter. Relative error per element: |analytic - numeric| / max(|analytic| + |numeric|, tiny)
// where both are not below `absolute_floor` (tiny differences of near-zero gradients are noise).
// Layers must have no optimizer set (so backward() leaves their weights alone).
template <typename T>
GradientCheckResult gradient_check(const std::vector<Layer<T>*>& layers, Loss<T>& loss,
                                   const Tensor<T>& input, const Tensor<T>& label, T step = T(1e-5),
                                   T absolute_floor = T(1e-9));

// The same for a graph (entries named "node 'block1.conv1' (Conv) weights"). The graph's layers
// run in the training phase; its input_error_needed() comes back as it was.
template <typename T>
GradientCheckResult gradient_check(Graph<T>& graph, Loss<T>& loss, const Tensor<T>& input,
                                   const Tensor<T>& label, T step = T(1e-5),
                                   T absolute_floor = T(1e-9));

extern template GradientCheckResult gradient_check<float>(Graph<float>&, Loss<float>&,
                                                          const Tensor<float>&,
                                                          const Tensor<float>&, float, float);
extern template GradientCheckResult gradient_check<double>(Graph<double>&, Loss<double>&,
                                                           const Tensor<double>&,
                                                           const Tensor<double>&, double, double);
extern template GradientCheckResult gradient_check<float>(const std::vector<Layer<float>*>&,
                                                          Loss<float>&, const Tensor<float>&,
                                                          const Tensor<float>&, float, float);
extern template GradientCheckResult gradient_check<double>(const std::vector<Layer<double>*>&,
                                                           Loss<double>&, const Tensor<double>&,
                                                           const Tensor<double>&, double, double);

}  // namespace cnnkit
