// Shape inference: each layer is built from its spec and the shape that reaches it (a Conv takes
// its channel count, a FullyConnected its input size from there), and the layer's own
// output_shape() says what it hands on. Using the layers themselves means the inferred shapes can
// never disagree with what forward() will do.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>

#include "check.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/average_pooling.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/concat.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/dropout.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/leaky_relu.hpp"
#include "cnnkit/layers/normalize.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/sigmoid.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/layers/tanh.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/registry.hpp"
#include "model/description_checks.hpp"
#include "training/update_settings.hpp"

namespace cnnkit::detail {

namespace {

constexpr std::size_t kTooMany = std::numeric_limits<std::size_t>::max();

// The product, or kTooMany if it overflows: sizes from a file may be anything.
std::size_t product(std::initializer_list<std::size_t> factors) {
  std::size_t result = 1;
  for (const std::size_t factor : factors) {
    if (__builtin_mul_overflow(result, factor, &result)) return kTooMany;
  }
  return result;
}

std::size_t product(const Shape& shape) {
  std::size_t result = 1;
  for (const std::size_t extent : shape) {
    if (__builtin_mul_overflow(result, extent, &result)) return kTooMany;
  }
  return result;
}

// The shape without its batch axis: what messages show (descriptions are written per sample).
Shape per_sample(const Shape& batched) {
  return Shape(batched.begin() + 1, batched.end());
}

// What the layers built so far add up to, against the description limits.
class Budget {
 public:
  explicit Budget(const Limits& limits) : limits_(limits) {}

  // Called with a layer's parameter count before the layer is allocated.
  void add_parameters(std::size_t count, const std::string& where) {
    add(parameters_, count, limits_.parameters, "parameters", "CNNKIT_MAX_PARAMETERS", where);
  }

  // Called with the bytes of each activation (the input sample included) for one sample.
  void add_activation_bytes(std::size_t count, const std::string& where) {
    add(activation_bytes_, count, limits_.activation_bytes, "activation bytes per sample",
        "CNNKIT_MAX_ACTIVATION_BYTES", where);
  }

 private:
  static void add(std::uint64_t& total, std::size_t count, std::uint64_t limit, const char* what,
                  const char* variable, const std::string& where) {
    const std::uint64_t before = total;
    if (__builtin_add_overflow(total, count, &total) || total > limit) {
      throw std::invalid_argument(where + ": expected at most " + std::to_string(limit) + " " +
                                  what + " in the whole model" + limit_hint(variable) + ", got " +
                                  (count == kTooMany
                                       ? std::string("more than 2^64")
                                       : std::to_string(before) + " before this layer and " +
                                             std::to_string(count) + " in it"));
    }
  }

  const Limits& limits_;
  std::uint64_t parameters_ = 0;
  std::uint64_t activation_bytes_ = 0;
};

// The bytes of `count` values of T, or kTooMany.
template <typename T>
std::size_t bytes_of(std::size_t count) {
  return product({count, sizeof(T)});
}

// One layer for an input of shape `in` (batch axis included, batch = 1).
template <typename T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec, const Shape& in,
                                     const std::string& where, Budget& budget) {
  const auto fail = [&](const std::string& message) {
    throw std::invalid_argument(where + ": " + message);
  };
  const std::string incoming = to_string(per_sample(in));
  if (spec.type == "Conv") {
    if (in.size() != 3 && in.size() != 4) {
      fail("expected input (channels, y) or (channels, y, x), got " + incoming);
    }
    const std::size_t spatial = in.size() - 2;
    Shape kernel = spec.kernel;
    if (kernel.size() == 1 && spatial == 2) kernel.push_back(kernel[0]);  // 3 means 3x3
    if (kernel.size() != spatial) {
      fail("expected a kernel of " + std::to_string(spatial) + " sizes for the " +
           std::to_string(spatial) + "-D input " + incoming + ", got kernel " + to_string(kernel));
    }
    if (spec.stride.size() > spatial) {
      fail("expected a stride of at most " + std::to_string(spatial) + " sizes for the " +
           std::to_string(spatial) + "-D input " + incoming + ", got stride " +
           to_string(spec.stride));
    }
    if (spec.dilation.size() > spatial) {
      fail("expected a dilation of at most " + std::to_string(spatial) + " sizes for the " +
           std::to_string(spatial) + "-D input " + incoming + ", got dilation " +
           to_string(spec.dilation));
    }
    if (spec.padding.sizes.size() > spatial) {
      fail("expected a padding of at most " + std::to_string(spatial) + " axes for the " +
           std::to_string(spatial) + "-D input " + incoming + ", got padding " +
           to_string(spec.padding));
    }
    Shape convolution_shape{in[1]};
    convolution_shape.insert(convolution_shape.end(), kernel.begin(), kernel.end());
    // Each kernel spans its group's channels (the Conv constructor checks that groups divide).
    const std::size_t kernel_size =
        product(convolution_shape) / std::max<std::size_t>(spec.groups, 1);
    if (product({spec.kernels, kernel_size}) > kMaxModelElements) {
      fail("expected at most " + std::to_string(kMaxModelElements) + " weights, got " +
           std::to_string(spec.kernels) + " kernels of " + to_string(convolution_shape));
    }
    // Weights and one bias per kernel.
    budget.add_parameters(product({spec.kernels, kernel_size}) + spec.kernels, where);
    try {
      return std::make_unique<Conv<T>>(spec.stride, convolution_shape, spec.kernels,
                                       ConvOptions{spec.padding, spec.dilation, spec.groups});
    } catch (const std::invalid_argument& error) {
      fail(error.what());
    }
  }
  if (spec.type == "Pooling" || spec.type == "AveragePooling") {
    if (in.size() != 3 && in.size() != 4) {
      fail("expected input (channels, length) or (channels, y, x), got " + incoming);
    }
    if (in.size() == 3 && (spec.window.size() != 1 || spec.stride.size() != 1)) {
      fail("expected one window size and one stride for the 1-D input " + incoming +
           ", got window " + to_string(spec.window) + " and stride " + to_string(spec.stride));
    }
    if (spec.type == "Pooling") return std::make_unique<Pooling<T>>(spec.stride, spec.window);
    return std::make_unique<AveragePooling<T>>(spec.stride, spec.window);
  }
  if (spec.type == "GlobalAveragePooling") {
    if (in.size() < 3) {
      fail("expected input (channels, spatial sizes...), got " + incoming +
           " (no spatial axes to average)");
    }
    return std::make_unique<GlobalAveragePooling<T>>();
  }
  if (spec.type == "BatchNorm") {
    // One scale and one shift per channel (or feature).
    budget.add_parameters(product({2, in[1]}), where);
    return std::make_unique<BatchNorm<T>>(in[1], spec.momentum, spec.epsilon);
  }
  if (spec.type == "FullyConnected") {
    if (in.size() != 2) {
      fail("expected input (features), got " + incoming + " (put a Flatten layer before it)");
    }
    if (product({in[1], spec.outputs}) > kMaxModelElements) {
      fail("expected at most " + std::to_string(kMaxModelElements) + " weights, got " +
           std::to_string(in[1]) + " x " + std::to_string(spec.outputs));
    }
    // Weights (inputs, outputs) and bias (1, outputs).
    budget.add_parameters(product({in[1] + 1, spec.outputs}), where);
    return std::make_unique<FullyConnected<T>>(in[1], spec.outputs);
  }
  if (spec.type == "Flatten") return std::make_unique<Flatten<T>>();
  if (spec.type == "ReLU") return std::make_unique<ReLU<T>>();
  if (spec.type == "LeakyReLU") return std::make_unique<LeakyReLU<T>>(static_cast<T>(spec.slope));
  if (spec.type == "Sigmoid") return std::make_unique<Sigmoid<T>>();
  if (spec.type == "TanH") return std::make_unique<TanH<T>>();
  if (spec.type == "Dropout") return std::make_unique<Dropout<T>>(spec.p);
  if (spec.type == "Normalize") {
    const auto fits = [&](std::size_t values) { return values == 1 || values == in[1]; };
    if (in.size() < 2 || !fits(spec.mean.size()) || !fits(spec.standard_deviation.size())) {
      fail("expected input whose channels match " + std::to_string(spec.mean.size()) +
           " means and " + std::to_string(spec.standard_deviation.size()) +
           " stds (one for all channels, or one per channel), got " + incoming);
    }
    return std::make_unique<Normalize<T>>(spec.mean, spec.standard_deviation);
  }
  if (spec.type == "SoftMax") return std::make_unique<SoftMax<T>>();
  if (spec.type == "Add") return std::make_unique<Add<T>>();
  if (spec.type == "Concat") return std::make_unique<Concat<T>>();
  return make_registered_layer<T>(spec, in, where, budget);
  return nullptr;  // not reached: fail() throws
}

// A layer of a type the built-ins do not know, from the registry (cnnkit/registry.hpp).
template <typename T>
std::unique_ptr<Layer<T>> make_registered_layer(const LayerSpec& spec, const Shape& in,
                                                const std::string& where, Budget& budget) {
  const LayerType<T>* user = find_layer_type<T>(spec.type);
  if (user == nullptr) {
    throw std::invalid_argument(where + ": unknown layer type '" + spec.type +
                                "' (known: " + known_layer_types() +
                                registry_hint("layer", "register_layer") + ")");
  }
  std::unique_ptr<Layer<T>> layer = user->make(spec, in);
  if (!layer) {
    throw std::invalid_argument(where + ": expected its maker to return a layer, got none");
  }
  budget.add_parameters(layer->parameter_count(), where);
  return layer;
}

// "net.json: layer 3 (Conv)", with the node's name when the description gives one:
// "net.json: layer 3 'sum' (Add)".
std::string layer_where(const std::string& prefix, std::size_t i, const LayerSpec& spec) {
  return prefix + ": layer " + std::to_string(i) +
         (spec.name.empty() ? "" : " '" + spec.name + "'") + " (" + spec.type + ")";
}

}  // namespace

std::string known_layer_types() {
  return "Conv, Pooling, AveragePooling, GlobalAveragePooling, FullyConnected, BatchNorm, "
         "Flatten, ReLU, LeakyReLU, Sigmoid, TanH, SoftMax, Add, Concat, Dropout, Normalize";
}

std::string node_name(const ModelDescription& description, std::size_t i) {
  const std::string& name = description.layers[i].name;
  return name.empty() ? "layer" + std::to_string(i) : name;
}

std::vector<std::string> node_inputs(const ModelDescription& description, std::size_t i) {
  const std::vector<std::string>& inputs = description.layers[i].inputs;
  if (!inputs.empty()) return inputs;
  return {i == 0 ? std::string(Graph<float>::kInput) : node_name(description, i - 1)};
}

template <typename T>
bool LayerChain<T>::is_chain() const {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string before = i == 0 ? std::string(Graph<T>::kInput) : names[i - 1];
    if (inputs[i] != std::vector<std::string>{before}) return false;
  }
  return true;
}

template <typename T>
LayerChain<T> make_layers(const ModelDescription& description, std::string_view source,
                          const Limits& limits) {
  const std::string prefix(source);
  const Shape& input = description.input_shape;
  if (input.empty() || input.size() > 3 ||
      std::ranges::any_of(input, [](std::size_t n) { return n == 0 || n > kMaxModelAxis; }) ||
      product(input) > kMaxModelElements) {
    throw std::invalid_argument(prefix + ": input_shape: expected 1 to 3 sizes from 1 to " +
                                std::to_string(kMaxModelAxis) + " with at most " +
                                std::to_string(kMaxModelElements) + " elements, got " +
                                to_string(input));
  }
  if (description.layers.empty()) {
    throw std::invalid_argument(prefix + ": layers: expected at least one layer, got none");
  }
  if (description.layers.size() > limits.layers) {
    throw std::invalid_argument(
        prefix + ": layers: expected at most " + std::to_string(limits.layers) + " layers" +
        limit_hint("CNNKIT_MAX_LAYERS") + ", got " + std::to_string(description.layers.size()));
  }
  Budget budget(limits);
  budget.add_activation_bytes(bytes_of<T>(product(input)), prefix + ": input_shape");
  LayerChain<T> chain;
  Shape input_batched{1};  // batch of one, then the sample
  input_batched.insert(input_batched.end(), input.begin(), input.end());
  // Each node name to its index, with the graph's input as -1 and batched shapes alongside.
  std::map<std::string, std::ptrdiff_t> index_of{{Graph<T>::kInput, -1}};
  std::vector<Shape> batched;
  std::vector<char> read(description.layers.size(), 0);
  for (std::size_t i = 0; i < description.layers.size(); ++i) {
    const LayerSpec& spec = description.layers[i];
    const std::string name = node_name(description, i);
    const std::string where = layer_where(prefix, i, spec);
    const bool merge = spec.type == "Add" || spec.type == "Concat";
    std::vector<std::string> inputs = node_inputs(description, i);
    if (name == Graph<T>::kInput || index_of.contains(name)) {
      throw std::invalid_argument(where + ": expected a unique node name, got '" + name +
                                  "' twice");
    }
    if (inputs.size() > limits.fan_in) {
      throw std::invalid_argument(where + ": expected at most " + std::to_string(limits.fan_in) +
                                  " inputs" + limit_hint("CNNKIT_MAX_FAN_IN") + ", got " +
                                  std::to_string(inputs.size()));
    }
    if (!merge && inputs.size() != 1) {
      throw std::invalid_argument(where + ": expected one input for this layer type, got " +
                                  std::to_string(inputs.size()));
    }
    std::vector<Shape> in_shapes;
    for (const std::string& source_name : inputs) {
      const auto found = index_of.find(source_name);
      if (found == index_of.end()) {
        throw std::invalid_argument(
            where + ": expected inputs named by nodes before it (or 'input'), got '" + source_name +
            "'" +
            (std::ranges::any_of(description.layers,
                                 [&](const LayerSpec& other) { return other.name == source_name; })
                 ? " (not before it: layers read only earlier nodes, so there is no cycle)"
                 : " (no such node)"));
      }
      if (found->second >= 0) read[static_cast<std::size_t>(found->second)] = 1;
      in_shapes.push_back(found->second < 0 ? input_batched
                                            : batched[static_cast<std::size_t>(found->second)]);
    }
    check_spec_fields(spec, where);
    std::unique_ptr<Layer<T>> layer = make_layer<T>(spec, in_shapes[0], where, budget);
    Shape next;
    try {
      if (merge) {
        next = static_cast<const MergeLayer<T>&>(*layer).output_shape(
            std::span<const Shape>(in_shapes));
      } else {
        next = layer->output_shape(in_shapes[0]);
      }
    } catch (const std::invalid_argument& error) {
      std::string shapes;
      for (const Shape& shape : in_shapes) {
        shapes += (shapes.empty() ? "" : ", ") + to_string(per_sample(shape));
      }
      throw std::invalid_argument(where + ": input " + shapes + " does not fit: " + error.what());
    }
    if (product(next) > kMaxModelElements) {
      throw std::invalid_argument(where + ": expected an output of at most " +
                                  std::to_string(kMaxModelElements) + " elements, got " +
                                  to_string(per_sample(next)));
    }
    budget.add_activation_bytes(bytes_of<T>(product(next)), where);
    chain.output_shapes.push_back(per_sample(next));
    chain.layers.push_back(std::move(layer));
    chain.names.push_back(name);
    chain.inputs.push_back(std::move(inputs));
    index_of.emplace(name, static_cast<std::ptrdiff_t>(i));
    batched.push_back(std::move(next));
  }
  for (std::size_t i = 0; i + 1 < read.size(); ++i) {
    if (!read[i]) {
      throw std::invalid_argument(layer_where(prefix, i, description.layers[i]) +
                                  ": expected its output to be read by a later layer (only the "
                                  "last layer is the output), got no reader");
    }
  }
  return chain;
}

void validate_description(const ModelDescription& description, std::string_view source,
                          const Limits& limits) {
  const std::string prefix(source);
  const auto fail = [&](const std::string& where, const std::string& message) {
    throw std::invalid_argument(prefix + ": " + where + ": " + message);
  };
  // The builders' constructors check the values (learning rate > 0, mu in [0, 1), ...).
  try {
    build_initializer<float>(description.weights_initializer);
  } catch (const std::invalid_argument& error) {
    fail("weights_initializer", error.what());
  }
  try {
    build_initializer<float>(description.bias_initializer);
  } catch (const std::invalid_argument& error) {
    fail("bias_initializer", error.what());
  }
  try {
    build_optimizer<float>(description.optimizer);
  } catch (const std::invalid_argument& error) {
    fail("optimizer", error.what());
  }
  try {
    build_loss<float>(description.loss, description.loss_reduction);
  } catch (const std::invalid_argument& error) {
    fail("loss", error.what());
  }
  validate_update_settings(description, prefix);

  const RandomStateGuard keep_random_state;
  const LayerChain<float> chain = make_layers<float>(description, source, limits);
  const Shape& output = chain.output_shapes.back();
  if (output.size() != 1) {
    fail("layers", "expected the last layer to output (categories), got " + to_string(output) +
                       " (end with Flatten, FullyConnected or SoftMax)");
  }
  if (description.loss == "CrossEntropyLoss" && description.layers.back().type != "SoftMax") {
    fail("layers",
         "expected SoftMax as the last layer for CrossEntropyLoss (it takes "
         "probabilities), got " +
             description.layers.back().type);
  }
  if (description.loss == "SoftmaxCrossEntropy" && description.layers.back().type == "SoftMax") {
    fail("layers",
         "expected a last layer other than SoftMax for SoftmaxCrossEntropy (it takes logits and "
         "applies the softmax itself), got SoftMax (remove it, or use CrossEntropyLoss)");
  }
  const std::vector<std::string>& classes = description.classes;
  if (!classes.empty() && classes.size() != output[0]) {
    fail("classes", "expected " + std::to_string(output[0]) + " names (one per output), got " +
                        std::to_string(classes.size()));
  }
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (classes[i].empty()) fail("classes[" + std::to_string(i) + "]", "expected a name, got \"\"");
    for (std::size_t j = 0; j < i; ++j) {
      if (classes[j] == classes[i]) {
        fail("classes[" + std::to_string(i) + "]",
             "expected unique names, got \"" + classes[i] + "\" twice");
      }
    }
  }
}

template struct LayerChain<float>;
template struct LayerChain<double>;
template LayerChain<float> make_layers<float>(const ModelDescription&, std::string_view,
                                              const Limits&);
template LayerChain<double> make_layers<double>(const ModelDescription&, std::string_view,
                                                const Limits&);

}  // namespace cnnkit::detail

namespace cnnkit {

std::vector<Shape> infer_shapes(const ModelDescription& description, const Limits& limits) {
  const std::string source = "model '" + description.name + "'";
  const detail::RandomStateGuard keep_random_state;
  return detail::make_layers<float>(description, source, limits).output_shapes;
}

std::size_t num_outputs(const ModelDescription& description) {
  const std::vector<Shape> shapes = infer_shapes(description);
  return element_count(shapes.back());
}

}  // namespace cnnkit
