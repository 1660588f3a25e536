// Clipping by global norm (gradient_clipping.hpp).
#include "cnnkit/gradient_clipping.hpp"

#include <cmath>
#include <cstddef>
#include <memory>

#include "check.hpp"

namespace cnnkit {

namespace {

void require_max_norm(double max_norm) {
  // The comparison is false for NaN, so NaN is rejected too.
  detail::require(max_norm > 0 && std::isfinite(max_norm), "clip_norm", "a finite value > 0",
                  detail::format_number(max_norm));
}

}  // namespace

template <typename T>
double global_gradient_norm(const std::vector<Parameter<T>*>& parameters) {
  double sum_of_squares = 0.0;
  for (const Parameter<T>* parameter : parameters) {
    const T* const g = parameter->gradient.data();
    const std::size_t n = parameter->gradient.size();
    for (std::size_t i = 0; i < n; ++i) {
      const double value = static_cast<double>(g[i]);
      sum_of_squares += value * value;
    }
  }
  return std::sqrt(sum_of_squares);
}

template <typename T>
double clip_gradients_by_global_norm(const std::vector<Parameter<T>*>& parameters,
                                     double max_norm) {
  require_max_norm(max_norm);
  const double norm = global_gradient_norm(parameters);
  // PyTorch's coefficient, with its 1e-6 that keeps a norm of 0 from dividing by 0.
  const double coefficient = max_norm / (norm + 1e-6);
  if (coefficient < 1.0) {
    const T factor = static_cast<T>(coefficient);
    for (Parameter<T>* parameter : parameters) {
      T* const g = parameter->gradient.data();
      const std::size_t n = parameter->gradient.size();
      for (std::size_t i = 0; i < n; ++i) g[i] *= factor;
    }
  }
  return norm;
}

template <typename T>
typename Graph<T>::UpdateHook gradient_clipping_hook(double max_norm) {
  require_max_norm(max_norm);
  // The updated parameters, gathered again each step (a parameter may be frozen in between) into
  // a list that keeps its capacity; shared because std::function copies its target.
  auto updated = std::make_shared<std::vector<Parameter<T>*>>();
  return [max_norm, updated](Graph<T>& graph) {
    updated->clear();
    for (Parameter<T>* parameter : graph.parameters()) {
      if (parameter->optimizer && !parameter->frozen) updated->push_back(parameter);
    }
    clip_gradients_by_global_norm(*updated, max_norm);
  };
}

template double global_gradient_norm<float>(const std::vector<Parameter<float>*>&);
template double global_gradient_norm<double>(const std::vector<Parameter<double>*>&);
template double clip_gradients_by_global_norm<float>(const std::vector<Parameter<float>*>&, double);
template double clip_gradients_by_global_norm<double>(const std::vector<Parameter<double>*>&,
                                                      double);
template Graph<float>::UpdateHook gradient_clipping_hook<float>(double);
template Graph<double>::UpdateHook gradient_clipping_hook<double>(double);

}  // namespace cnnkit
