// Gradient clipping by global norm, as PyTorch's clip_grad_norm_: the norm of all gradients taken
// together, sqrt(sum over every parameter and element of g^2), and when it is above max_norm every
// gradient multiplied by max_norm / (norm + 1e-6). The direction of the step stays; only its
// length is bounded.
#pragma once

#include <vector>

#include "cnnkit/graph.hpp"
#include "cnnkit/parameter.hpp"

namespace cnnkit {

// The global norm, summed in double in the order given (parameter by parameter, element by
// element), so the same gradients give the same bits on any thread count.
template <typename T>
double global_gradient_norm(const std::vector<Parameter<T>*>& parameters);

// Scales the gradients when their global norm is above max_norm; returns the norm before.
// max_norm must be finite and > 0 (else std::invalid_argument naming clip_norm).
template <typename T>
double clip_gradients_by_global_norm(const std::vector<Parameter<T>*>& parameters, double max_norm);

// An update hook (Graph::update_hooks) clipping the gradients of the parameters the optimizers
// update (an optimizer set, not frozen), in the graph's parameter order. Allocates nothing per
// step once the first step has sized its list.
template <typename T>
typename Graph<T>::UpdateHook gradient_clipping_hook(double max_norm);

extern template double global_gradient_norm<float>(const std::vector<Parameter<float>*>&);
extern template double global_gradient_norm<double>(const std::vector<Parameter<double>*>&);
extern template double clip_gradients_by_global_norm<float>(const std::vector<Parameter<float>*>&,
                                                            double);
extern template double clip_gradients_by_global_norm<double>(const std::vector<Parameter<double>*>&,
                                                             double);
extern template Graph<float>::UpdateHook gradient_clipping_hook<float>(double);
extern template Graph<double>::UpdateHook gradient_clipping_hook<double>(double);

}  // namespace cnnkit
