// The L2 penalty of weight_decay.hpp.
#include "cnnkit/weight_decay.hpp"

#include <cmath>
#include <cstddef>

#include "check.hpp"

namespace cnnkit {

template <typename T>
void add_l2_penalty(Parameter<T>& parameter, T weight_decay) {
  T* const g = parameter.gradient.data();
  const T* const w = parameter.value.data();
  const std::size_t n = parameter.value.size();
  for (std::size_t i = 0; i < n; ++i) g[i] += weight_decay * w[i];
}

template <typename T>
typename Graph<T>::UpdateHook l2_penalty_hook(T weight_decay, bool decay_bias_and_norm) {
  // The comparison is false for NaN, so NaN is rejected too.
  detail::require(weight_decay >= T(0) && std::isfinite(weight_decay), "weight_decay",
                  "a finite value >= 0", detail::format_number(weight_decay));
  return [weight_decay, decay_bias_and_norm](Graph<T>& graph) {
    for (Parameter<T>* parameter : graph.parameters()) {
      if (parameter->optimizer && !parameter->frozen && decays(*parameter, decay_bias_and_norm)) {
        add_l2_penalty(*parameter, weight_decay);
      }
    }
  };
}

template void add_l2_penalty<float>(Parameter<float>&, float);
template void add_l2_penalty<double>(Parameter<double>&, double);
template Graph<float>::UpdateHook l2_penalty_hook<float>(float, bool);
template Graph<double>::UpdateHook l2_penalty_hook<double>(double, bool);

}  // namespace cnnkit
