// gradient_check: the analytic gradients of one backward pass through the engine against central
// finite differences (f(v + h) - f(v - h)) / 2h of the loss, element by element, for the input and
// every parameter.
#include "cnnkit/gradient_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
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

// The loss of one forward pass through the graph: the function whose derivatives are checked.
template <typename T>
T evaluate_loss(Graph<T>& graph, Loss<T>& loss, const Tensor<T>& input, const Tensor<T>& label) {
  return loss.forward(graph.forward(Tensor<T>(input)), label);
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
double worst_element_error(Tensor<T>& values, const Tensor<T>& analytic, Graph<T>& graph,
                           Loss<T>& loss, const Tensor<T>& input, const Tensor<T>& label, T step,
                           T absolute_floor) {
  double worst = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const T original = values[i];
    values[i] = original + step;
    const T loss_plus = evaluate_loss(graph, loss, input, label);
    values[i] = original - step;
    const T loss_minus = evaluate_loss(graph, loss, input, label);
    values[i] = original;
    const double numeric = (static_cast<double>(loss_plus) - static_cast<double>(loss_minus)) /
                           (2.0 * static_cast<double>(step));
    worst = std::max(worst, relative_error(static_cast<double>(analytic[i]), numeric,
                                           static_cast<double>(absolute_floor)));
  }
  return worst;
}

// The check itself; `describe(i)` names node i in the entries and messages.
template <typename T>
GradientCheckResult check_graph(Graph<T>& graph, Loss<T>& loss, const Tensor<T>& input,
                                const Tensor<T>& label, T step, T absolute_floor,
                                const std::function<std::string(std::size_t)>& describe) {
  detail::require(step > T(0), kComponent, "a step above 0", detail::format_number(step));
  detail::require(absolute_floor >= T(0), kComponent, "an absolute_floor of at least 0",
                  detail::format_number(absolute_floor));
  for (std::size_t l = 0; l < graph.size(); ++l) {
    // The engine leaves the weights alone in backward(), but a layer with an optimizer is one
    // meant for training: checking it would hide a mix-up.
    for (const Parameter<T>* parameter : std::as_const(graph.layer(l)).parameters()) {
      detail::require(!parameter->optimizer, kComponent, "layers without an optimizer",
                      "one on " + describe(l) + " " + parameter->name);
    }
  }

  // Analytic gradients: one forward and one backward pass, copied before the finite
  // differences overwrite the layers' caches. The input's gradient is checked too, so the
  // graph computes its input error for this pass (a network's first layer normally skips it).
  const bool needed = graph.input_error_needed();
  graph.set_input_error_needed(true);
  Tensor<T> input_gradient;
  try {
    evaluate_loss(graph, loss, input, label);
    input_gradient = graph.backward(loss.backward(label));
  } catch (...) {
    graph.set_input_error_needed(needed);
    throw;
  }
  graph.set_input_error_needed(needed);
  detail::require_shape(input_gradient.shape(), input.shape(), kComponent, "an input gradient");
  std::vector<std::vector<Tensor<T>>> parameter_gradients;
  for (Layer<T>* layer : graph.layers()) {
    std::vector<Tensor<T>> gradients;
    for (const Parameter<T>* parameter : layer->parameters()) {
      gradients.push_back(parameter->gradient);
    }
    parameter_gradients.push_back(std::move(gradients));
  }

  GradientCheckResult result;
  Tensor<T> perturbed_input = input;
  // The graph reads perturbed_input while worst_element_error perturbs it.
  result.entries.push_back(
      {"input", worst_element_error(perturbed_input, input_gradient, graph, loss,
                                    std::as_const(perturbed_input), label, step, absolute_floor)});
  for (std::size_t l = 0; l < graph.size(); ++l) {
    const std::vector<Parameter<T>*> parameters = graph.layer(l).parameters();
    for (std::size_t p = 0; p < parameters.size(); ++p) {
      const double error = worst_element_error(parameters[p]->value, parameter_gradients[l][p],
                                               graph, loss, input, label, step, absolute_floor);
      result.entries.push_back({describe(l) + " " + parameters[p]->name, error});
    }
  }
  // Leave the layers' caches as forward() at the unperturbed point would (the last finite
  // difference ran at a shifted value).
  evaluate_loss(graph, loss, input, label);
  return result;
}

}  // namespace

template <typename T>
GradientCheckResult gradient_check(Graph<T>& graph, Loss<T>& loss, const Tensor<T>& input,
                                   const Tensor<T>& label, T step, T absolute_floor) {
  return check_graph<T>(graph, loss, input, label, step, absolute_floor, [&graph](std::size_t l) {
    return "node '" + graph.name(l) + "' (" + graph.layer(l).type() + ")";
  });
}

template <typename T>
GradientCheckResult gradient_check(const std::vector<Layer<T>*>& layers, Loss<T>& loss,
                                   const Tensor<T>& input, const Tensor<T>& label, T step,
                                   T absolute_floor) {
  // The chain as a graph of the caller's layers, each left as it came (input_error_needed).
  Graph<T> graph;
  std::vector<char> needed;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    detail::require(layers[l] != nullptr, kComponent, "a layer at every position",
                    "none at layer " + std::to_string(l));
    graph.append(*layers[l]);
    needed.push_back(layers[l]->input_error_needed() ? 1 : 0);
  }
  const auto restore = [&] {
    for (std::size_t l = 0; l < layers.size(); ++l) layers[l]->set_input_error_needed(needed[l]);
  };
  try {
    GradientCheckResult result =
        check_graph<T>(graph, loss, input, label, step, absolute_floor, [&layers](std::size_t l) {
          return "layer " + std::to_string(l) + " (" + layers[l]->type() + ")";
        });
    restore();
    return result;
  } catch (...) {
    restore();
    throw;
  }
}

template GradientCheckResult gradient_check<float>(Graph<float>&, Loss<float>&,
                                                   const Tensor<float>&, const Tensor<float>&,
                                                   float, float);
template GradientCheckResult gradient_check<double>(Graph<double>&, Loss<double>&,
                                                    const Tensor<double>&, const Tensor<double>&,
                                                    double, double);
template GradientCheckResult gradient_check<float>(const std::vector<Layer<float>*>&, Loss<float>&,
                                                   const Tensor<float>&, const Tensor<float>&,
                                                   float, float);
template GradientCheckResult gradient_check<double>(const std::vector<Layer<double>*>&,
                                                    Loss<double>&, const Tensor<double>&,
                                                    const Tensor<double>&, double, double);

}  // namespace cnnkit
