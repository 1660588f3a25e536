// Weight decay in its L2 form: the penalty wd/2 |w|^2 added to the loss, i.e. wd * w added to each
// gradient in the update phase (PyTorch's weight_decay of SGD and Adam). The decoupled form, which
// shrinks the weights instead, is the AdamW optimizer (optimizers.hpp).
#pragma once

#include "cnnkit/graph.hpp"
#include "cnnkit/parameter.hpp"

namespace cnnkit {

// Which parameters weight decay reaches: all, or with decay_bias_and_norm false only those of kind
// kWeights (biases and normalisation scales and shifts left out).
template <typename T>
bool decays(const Parameter<T>& parameter, bool decay_bias_and_norm) {
  return decay_bias_and_norm || parameter.kind == ParameterKind::kWeights;
}

// gradient += weight_decay * value.
template <typename T>
void add_l2_penalty(Parameter<T>& parameter, T weight_decay);

// An update hook (Graph::update_hooks) that adds the L2 penalty to the gradient of every parameter
// the optimizers update (an optimizer set, not frozen) that decays(). weight_decay must be finite
// and >= 0 (else std::invalid_argument, naming weight_decay).
template <typename T>
typename Graph<T>::UpdateHook l2_penalty_hook(T weight_decay, bool decay_bias_and_norm = true);

extern template void add_l2_penalty<float>(Parameter<float>&, float);
extern template void add_l2_penalty<double>(Parameter<double>&, double);
extern template Graph<float>::UpdateHook l2_penalty_hook<float>(float, bool);
extern template Graph<double>::UpdateHook l2_penalty_hook<double>(double, bool);

}  // namespace cnnkit
