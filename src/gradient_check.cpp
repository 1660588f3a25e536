// gradient_check: the analytic gradients of one backward pass against central finite differences
// (f(v + h) - f(v - h)) / 2h of the loss, element by element, for the input and every parameter.
#include "cnnkit/gradient_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"

namespace cnnkit {

double GradientCheckResult::worst() const {
  double worst_error = 0.0;
  for (const GradientCheckEntry& entry : entries) {
    worst_error = std::max(worst_error, entry.max_relative_error);
  }
  return worst_error;
}

namespace {

constexpr const char* kComponent = "gradient_check";

// The loss of one forward pass through the chain: the function whose derivatives are checked.
template <typename T>
T evaluate_loss(const std::vector<Layer<T>*>& layers, Loss<T>& loss, const Tensor<T>& input,
                const Tensor<T>& label) {
  Tensor<T> activation = input;
  for (Layer<T>* layer : layers) activation = layer->forward(activation);
  return loss.forward(activation, label);
}

// |a - n| / max(|a| + |n|, tiny), skipping elements where both are below the floor.
double relative_error(double analytic, double numeric, double absolute_floor) {
  if (std::abs(analytic) < absolute_floor && std::abs(numeric) < absolute_floor) return 0.0;
  const double scale =
      std::max(std::abs(analytic) + std::abs(numeric), std::numeric_limits<double>::min());
  return std::abs(analytic - numeric) / scale;
}

// Central differences (f(v + h) - f(v - h)) / 2h for every element of `values`, compared with
// `analytic`; `values` is perturbed in place and restored element by element.
template <typename T>
double worst_element_error(Tensor<T>& values, const Tensor<T>& analytic,
                           const std::vector<Layer<T>*>& layers, Loss<T>& loss,
                           const Tensor<T>& input, const Tensor<T>& label, T step,
                           T absolute_floor) {
  double worst = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const T original = values[i];
    values[i] = original + step;
    const T loss_plus = evaluate_loss(layers, loss, input, label);
    values[i] = original - step;
    const T loss_minus = evaluate_loss(layers, loss, input, label);
    values[i] = original;
    const double numeric = (static_cast<double>(loss_plus) - static_cast<double>(loss_minus)) /
                           (2.0 * static_cast<double>(step));
    worst = std::max(worst, relative_error(static_cast<double>(analytic[i]), numeric,
                                           static_cast<double>(absolute_floor)));
  }
  return worst;
}

}  // namespace

template <typename T>
GradientCheckResult gradient_check(const std::vector<Layer<T>*>& layers, Loss<T>& loss,
                                   const Tensor<T>& input, const Tensor<T>& label, T step,
                                   T absolute_floor) {
  detail::require(step > T(0), kComponent, "a step above 0", detail::format_number(step));
  detail::require(absolute_floor >= T(0), kComponent, "an absolute_floor of at least 0",
                  detail::format_number(absolute_floor));
  for (std::size_t l = 0; l < layers.size(); ++l) {
    detail::require(layers[l] != nullptr, kComponent, "a layer at every position",
                    "none at layer " + std::to_string(l));
    // An optimizer would move the weights during backward(), so the finite differences below
    // would no longer be taken around the point where the analytic gradient was computed.
    for (const Parameter<T>* parameter : std::as_const(*layers[l]).parameters()) {
      detail::require(
          !parameter->optimizer, kComponent, "layers without an optimizer",
          "one on layer " + std::to_string(l) + " (" + layers[l]->type() + ") " + parameter->name);
    }
  }

  // Analytic gradients: one forward and one backward pass, copied before the finite
  // differences overwrite the layers' caches. The input's gradient is checked too, so every
  // layer computes its input error for this pass (a network's first layer normally skips it).
  evaluate_loss(layers, loss, input, label);
  Tensor<T> input_gradient = loss.backward(label);
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
    const bool needed = (*layer)->input_error_needed();
    (*layer)->set_input_error_needed(true);
    try {
      input_gradient = (*layer)->backward(input_gradient);
    } catch (...) {
      (*layer)->set_input_error_needed(needed);
      throw;
    }
    (*layer)->set_input_error_needed(needed);
  }
  detail::require_shape(input_gradient.shape(), input.shape(), kComponent, "an input gradient");
  std::vector<std::vector<Tensor<T>>> parameter_gradients;
  for (Layer<T>* layer : layers) {
    std::vector<Tensor<T>> gradients;
    for (const Parameter<T>* parameter : layer->parameters()) {
      gradients.push_back(parameter->gradient);
    }
    parameter_gradients.push_back(std::move(gradients));
  }

  GradientCheckResult result;
  Tensor<T> perturbed_input = input;
  // The chain reads perturbed_input while worst_element_error perturbs it.
  result.entries.push_back(
      {"input", worst_element_error(perturbed_input, input_gradient, layers, loss,
                                    std::as_const(perturbed_input), label, step, absolute_floor)});
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::vector<Parameter<T>*> parameters = layers[l]->parameters();
    for (std::size_t p = 0; p < parameters.size(); ++p) {
      const double error = worst_element_error(parameters[p]->value, parameter_gradients[l][p],
                                               layers, loss, input, label, step, absolute_floor);
      result.entries.push_back(
          {"layer " + std::to_string(l) + " (" + layers[l]->type() + ") " + parameters[p]->name,
           error});
    }
  }
  // Leave the layers' caches as forward() at the unperturbed point would (the last finite
  // difference ran at a shifted value).
  evaluate_loss(layers, loss, input, label);
  return result;
}

template GradientCheckResult gradient_check<float>(const std::vector<Layer<float>*>&, Loss<float>&,
                                                   const Tensor<float>&, const Tensor<float>&,
                                                   float, float);
template GradientCheckResult gradient_check<double>(const std::vector<Layer<double>*>&,
                                                    Loss<double>&, const Tensor<double>&,
                                                    const Tensor<double>&, double, double);

}  // namespace cnnkit
