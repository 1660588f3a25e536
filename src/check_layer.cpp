// check_layer: the layer contract of layer.hpp as a sequence of calls whose results must agree.
#include "cnnkit/check_layer.hpp"

#include <cstddef>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "check.hpp"
#include "cnnkit/loss.hpp"

namespace cnnkit {

// Friend of Layer (layer.hpp): the buffers the layer's next new_output() and new_input_error()
// return.
template <typename T>
void seed_spare_buffers(Layer<T>& layer, Tensor<T>&& output_like, Tensor<T>&& input_error_like) {
  layer.recycle_error(std::move(output_like));
  layer.recycle_input(std::move(input_error_like));
}

std::string LayerCheckResult::report() const {
  std::string text;
  for (const std::string& failure : failures) text += failure + "\n";
  return text;
}

namespace {

constexpr const char* kComponent = "check_layer";

template <typename T>
Tensor<T> filled_with_nan(const Shape& shape) {
  return Tensor<T>(shape, std::numeric_limits<T>::quiet_NaN());
}

// Values in [-1, 1) from a local engine: the library's seeded engine stays untouched.
template <typename T>
Tensor<T> pseudo_random(const Shape& shape, unsigned seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  Tensor<T> tensor(shape);
  for (T& value : tensor) value = static_cast<T>(uniform(engine));
  return tensor;
}

// "" when both hold the same shape and bits (NaN never equals), else what differs.
template <typename T>
std::string difference(const Tensor<T>& actual, const Tensor<T>& expected) {
  if (actual.shape() != expected.shape()) {
    return "shape " + to_string(actual.shape()) + " instead of " + to_string(expected.shape());
  }
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!(actual[i] == expected[i])) {
      return "element " + std::to_string(i) + " is " + detail::format_number(actual[i]) +
             " instead of " + detail::format_number(expected[i]);
    }
  }
  return "";
}

// `call` must throw std::logic_error (and nothing else).
template <typename Call>
bool throws_logic_error(Call&& call) {
  try {
    call();
  } catch (const std::invalid_argument&) {
    return false;
  } catch (const std::logic_error&) {
    return true;
  }
  return false;
}

// The results of one forward() and one backward() through the hand-over forms.
template <typename T>
struct Pass {
  Tensor<T> output;
  Tensor<T> input_error;
  std::vector<Tensor<T>> gradients;
};

// With `garbage`, every buffer the layer may write into holds NaN before each call.
template <typename T>
Pass<T> run_pass(Layer<T>& layer, const Tensor<T>& input, const Tensor<T>& error_tensor,
                 bool garbage) {
  for (Parameter<T>* parameter : layer.parameters()) {
    parameter->gradient = garbage ? filled_with_nan<T>(parameter->value.shape())
                                  : Tensor<T>(parameter->value.shape());
  }
  if (garbage) {
    seed_spare_buffers(layer, filled_with_nan<T>(error_tensor.shape()),
                       filled_with_nan<T>(input.shape()));
  }
  Pass<T> pass;
  pass.output = layer.forward(Tensor<T>(input));
  if (garbage) {
    seed_spare_buffers(layer, filled_with_nan<T>(error_tensor.shape()),
                       filled_with_nan<T>(input.shape()));
  }
  pass.input_error = layer.backward(Tensor<T>(error_tensor));
  for (const Parameter<T>* parameter : std::as_const(layer).parameters()) {
    pass.gradients.push_back(parameter->gradient);
  }
  return pass;
}

template <typename T>
void check_assignment(Layer<T>& layer, const Tensor<T>& input, const Tensor<T>& error_tensor,
                      const Pass<T>& clean, LayerCheckResult& result) {
  const Pass<T> seeded = run_pass(layer, input, error_tensor, true);
  const std::string prefix = layer.type() + ": with NaN in its buffers before the call, ";
  if (const std::string d = difference(seeded.output, clean.output); !d.empty()) {
    result.failures.push_back(prefix + "forward()'s output differs (" + d +
                              "): forward() must assign every element of its output");
  }
  if (const std::string d = difference(seeded.input_error, clean.input_error); !d.empty()) {
    result.failures.push_back(prefix + "backward()'s input error differs (" + d +
                              "): backward() must assign every element of it");
  }
  const std::vector<Parameter<T>*> parameters = layer.parameters();
  for (std::size_t p = 0; p < parameters.size(); ++p) {
    if (const std::string d = difference(seeded.gradients[p], clean.gradients[p]); !d.empty()) {
      result.failures.push_back(prefix + "the " + parameters[p]->name + " gradient differs (" + d +
                                "): backward() must assign the gradient, not add to it");
    }
  }
}

template <typename T>
void check_gradients(Layer<T>& layer, const Tensor<T>& input, const Shape& output_shape,
                     const LayerCheckOptions& options, LayerCheckResult& result) {
  L2Loss<T> loss;
  const Tensor<T> label = pseudo_random<T>(output_shape, 2);
  result.gradients = gradient_check<T>({&layer}, loss, input, label, static_cast<T>(options.step),
                                       static_cast<T>(options.absolute_floor));
  for (const GradientCheckEntry& entry : result.gradients.entries) {
    if (entry.max_relative_error > options.gradient_tolerance) {
      result.failures.push_back(layer.type() + ": the gradient of the " + entry.what +
                                " has a relative error of " +
                                detail::format_number(entry.max_relative_error) + ", above " +
                                detail::format_number(options.gradient_tolerance));
    }
  }
}

template <typename T>
void check_order(Layer<T>& layer, const Tensor<T>& input, const Tensor<T>& error_tensor,
                 LayerCheckResult& result) {
  (void)layer.forward(Tensor<T>(input));
  (void)layer.backward(Tensor<T>(error_tensor));
  if (!throws_logic_error([&] { (void)layer.backward(Tensor<T>(error_tensor)); })) {
    result.failures.push_back(layer.type() +
                              ": a second backward() after one forward() did not throw "
                              "std::logic_error");
  }
  layer.set_testing_phase(true);
  (void)layer.forward(Tensor<T>(input));
  layer.set_testing_phase(false);
  if (!throws_logic_error([&] { (void)layer.backward(Tensor<T>(error_tensor)); })) {
    result.failures.push_back(layer.type() +
                              ": backward() after a testing-phase forward() did not throw "
                              "std::logic_error");
  }
}

// Restores the phase and input_error_needed() the layer had, also when a check throws.
template <typename T>
class LayerSettingsScope {
 public:
  explicit LayerSettingsScope(Layer<T>& layer)
      : layer_(layer),
        testing_(layer.testing_phase()),
        input_error_needed_(layer.input_error_needed()) {
    layer.set_testing_phase(false);
    layer.set_input_error_needed(true);
  }
  ~LayerSettingsScope() {
    layer_.set_testing_phase(testing_);
    layer_.set_input_error_needed(input_error_needed_);
  }
  LayerSettingsScope(const LayerSettingsScope&) = delete;
  LayerSettingsScope& operator=(const LayerSettingsScope&) = delete;

 private:
  Layer<T>& layer_;
  bool testing_;
  bool input_error_needed_;
};

}  // namespace

template <typename T>
LayerCheckResult check_layer(Layer<T>& layer, const Tensor<T>& input,
                             const LayerCheckOptions& options) {
  for (const Parameter<T>* parameter : std::as_const(layer).parameters()) {
    detail::require(!parameter->optimizer, kComponent, "a layer without an optimizer",
                    "one on " + layer.type() + " " + parameter->name);
  }
  const LayerSettingsScope<T> settings(layer);
  LayerCheckResult result;

  const Shape declared = layer.output_shape(input.shape());
  const Tensor<T> probe = layer.forward(Tensor<T>(input));
  if (probe.shape() != declared) {
    result.failures.push_back(layer.type() + ": output_shape(" + to_string(input.shape()) +
                              ") gives " + to_string(declared) + ", forward() returns " +
                              to_string(probe.shape()) + " (override output_shape)");
  }
  const Tensor<T> error_tensor = pseudo_random<T>(probe.shape(), 1);

  const Pass<T> clean = run_pass(layer, input, error_tensor, false);
  if (clean.input_error.shape() != input.shape()) {
    result.failures.push_back(layer.type() + ": backward() returns " +
                              to_string(clean.input_error.shape()) +
                              ", expected the input's shape " + to_string(input.shape()));
  }
  check_assignment(layer, input, error_tensor, clean, result);
  check_gradients(layer, input, probe.shape(), options, result);
  check_order(layer, input, error_tensor, result);
  return result;
}

template LayerCheckResult check_layer<float>(Layer<float>&, const Tensor<float>&,
                                             const LayerCheckOptions&);
template LayerCheckResult check_layer<double>(Layer<double>&, const Tensor<double>&,
                                              const LayerCheckOptions&);

}  // namespace cnnkit
