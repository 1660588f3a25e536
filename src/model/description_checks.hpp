// Internal to src/model: the checks and the layer factory that parsing, validate(), the builders
// and the summary share, so that a description is judged the same way wherever it comes from.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cnnkit/layer.hpp"
#include "cnnkit/limits.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit::detail {

// "Conv, Pooling, AveragePooling, ...": the layer types, for "unknown layer type" messages.
std::string known_layer_types();

// "Adam, Sgd, SgdWithMomentum": the built-in optimizers, for "unknown type" messages.
std::string builtin_optimizer_types();

// "; registered: Scale (a user layer is registered with register_layer, cnnkit/registry.hpp)":
// what "unknown type" messages add about the registry (registry.cpp).
std::string registry_hint(const char* kind, const char* function);

// "fashion-lenet, digits-cnn, iris-mlp": for "unknown preset" messages.
std::string preset_list();

// One layer's values before shapes are known: the fields its type uses within their ranges and
// the description limits, the fields it does not use unset (a Pooling with a "kernel" was meant
// to be something else). Throws std::invalid_argument "<where>: expected ..., got ...".
void check_spec_fields(const LayerSpec& spec, const std::string& where);

// Every check of a description (values, ranges, layer shapes, classes, loss, the description
// limits). Messages start with `source` and name the part that is wrong; throws
// std::invalid_argument. Leaves the library's random engine as it found it.
void validate_description(const ModelDescription& description, std::string_view source,
                          const Limits& limits);

// The layers of a description, each sized from the shape that reaches it, with the weights their
// constructors draw (no initializer, no optimizer yet), and the shape each one hands on for one
// sample. Throws std::invalid_argument "<source>: layer 3 (Conv): ..." for a layer that does not
// fit. This is the one place that judges what a description implies: the number of layers, and the
// parameters and activation bytes summed so far, are checked against `limits` before each layer is
// allocated, so a description of huge layers costs at most the limits' worth of memory. The graph
// is checked here too: names unique, each input a node before it (so no cycle), single-input
// layers with one input, merge shapes that agree, every output read except the last layer's.
template <typename T>
struct LayerChain {
  std::vector<std::unique_ptr<Layer<T>>> layers;
  std::vector<Shape> output_shapes;              // per sample (no batch axis), one per layer
  std::vector<std::string> names;                // each node's name, defaults resolved
  std::vector<std::vector<std::string>> inputs;  // each node's input names, defaults resolved
  // Whether every node reads the one before it (the first the input): a plain chain.
  bool is_chain() const;
};

// Layer i's node name: its "name", or "layer{i}".
std::string node_name(const ModelDescription& description, std::size_t i);
// Layer i's input names: its "inputs", or the node before it ("input" for the first).
std::vector<std::string> node_inputs(const ModelDescription& description, std::size_t i);

template <typename T>
LayerChain<T> make_layers(const ModelDescription& description, std::string_view source,
                          const Limits& limits);

// Saves the library's random engine and puts it back on scope exit: checking or summarising a
// description builds layers (whose constructors draw weights) without changing what a later
// training run with the same seed does.
class RandomStateGuard {
 public:
  RandomStateGuard() : saved_(random_engine()) {}
  ~RandomStateGuard() { random_engine() = saved_; }
  RandomStateGuard(const RandomStateGuard&) = delete;
  RandomStateGuard& operator=(const RandomStateGuard&) = delete;

 private:
  RandomEngine saved_;
};

}  // namespace cnnkit::detail
