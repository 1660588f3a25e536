// A network written down as data: the input shape, the layers in order with their parameters, the
// initializers, the optimizer and the loss. It reads from and writes to JSON (the model files and
// the `cnnkit` tool use it), e.g.
//   {"name": "digits-cnn", "input_shape": [1, 8, 8],
//    "layers": [{"type": "Conv", "kernels": 4, "kernel": [3, 3], "stride": 1}, {"type": "ReLU"},
//               {"type": "Pooling", "window": 2, "stride": 2}, {"type": "Flatten"},
//               {"type": "FullyConnected", "outputs": 10}, {"type": "SoftMax"}],
//    "weights_initializer": {"type": "He"}, "bias_initializer": {"type": "Constant", "value": 0.1},
//    "optimizer": {"type": "Adam", "learning_rate": 5e-3, "mu": 0.98, "rho": 0.999},
//    "loss": "CrossEntropyLoss"}
// Training settings go beside the optimizer: "optimizer": {"type": "AdamW", ..., "weight_decay":
// 1e-4, "decay_bias_and_norm": false}, "schedule": {"type": "cosine", "warmup_steps": 500} and
// "clip_norm": 1.0.
// A layer may carry "name" and "inputs" (e.g. {"type": "Add", "name": "sum", "inputs": ["conv2",
// "input"]}), which makes the layers a graph: each reads only nodes before it, and every node's
// output is read by a later one except the last layer's, which is the model's output.
// Shapes are inferred layer by layer, so a Conv takes its channel count and a FullyConnected its
// input size from whatever comes in; nobody types a fan-in.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cnnkit/layers/conv_options.hpp"
#include "cnnkit/limits.hpp"
#include "cnnkit/schedule.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

// One layer as the description holds it; only the fields of its type are used.
struct LayerSpec {
  // "Conv", "Pooling", "AveragePooling", "GlobalAveragePooling", "FullyConnected", "BatchNorm",
  // "Flatten", "ReLU", "LeakyReLU", "Sigmoid", "TanH", "SoftMax", "Add", "Concat", "Dropout",
  // "Normalize"
  std::string type;
  // The node's name; empty means "layer{i}" (i its index in the description).
  std::string name;
  // The names of the nodes it reads ("input" is the model's input); empty means the layer before
  // it (the input for the first). Add and Concat read several; every other type reads one.
  std::vector<std::string> inputs;
  std::size_t kernels = 0;  // Conv: number of kernels
  Shape kernel;             // Conv: {m} or {m, n}; one value means m x m for 2-D input
  // Pooling and AveragePooling: {py, px} or one value for both (one value for a 1-D input)
  Shape window;
  Shape stride;             // Conv (default {1}) and the poolings (default: the window), as written
  std::size_t outputs = 0;  // FullyConnected: output size
  double slope = 0.01;      // LeakyReLU: the slope where x <= 0
  double momentum = 0.1;    // BatchNorm: in [0, 1], PyTorch's meaning
  double epsilon = 1e-5;    // BatchNorm: above 0
  double p = 0.5;           // Dropout: the probability of dropping an element, in [0, 1)
  // Normalize: per-channel mean and standard deviation (JSON "mean" and "std"), one value
  // each or one per channel.
  std::vector<double> mean, standard_deviation;

  // Conv: "padding" ("same", "valid", p, or per axis p or [before, after]), "dilation" ({d} or
  // {dy, dx}) and "groups" (conv_options.hpp); the defaults are today's convolution.
  ConvPadding padding;
  Shape dilation{1};
  std::size_t groups = 1;
  // A registered user layer's own values (cnnkit/registry.hpp): its keys other than type, name
  // and inputs. Empty for the built-in types.
  std::map<std::string, double> attributes;

  bool operator==(const LayerSpec&) const = default;
};

// "He", "Xavier", "UniformRandom" or "Constant" (which uses `value`).
struct InitializerSpec {
  std::string type = "He";
  double value = 0.1;

  bool operator==(const InitializerSpec&) const = default;
};

// "Adam" or "AdamW" (learning_rate, mu, rho, epsilon), "Sgd" (learning_rate) or
// "SgdWithMomentum" (learning_rate, momentum). Fields of other types keep their defaults.
// weight_decay (all types) is decoupled for AdamW (the optimizer shrinks the weights) and the L2
// penalty added to the gradients for the others, as in PyTorch's optimizers of the same names.
struct OptimizerSpec {
  std::string type = "Adam";
  double learning_rate = 1e-3;
  double mu = 0.9;
  double rho = 0.999;
  double epsilon = 1e-8;
  double momentum = 0.9;
  double weight_decay = 0.0;        // finite, >= 0
  bool decay_bias_and_norm = true;  // false: biases and BatchNorm's scale and shift do not decay
  // A registered user optimizer's own values (cnnkit/registry.hpp): its keys other than type and
  // learning_rate. Empty for the built-in types.
  std::map<std::string, double> attributes;

  bool operator==(const OptimizerSpec&) const = default;
};

struct ModelDescription {
  std::string name;
  Shape input_shape;                 // one sample, no batch axis: [1, 28, 28], [4], ...
  std::vector<std::string> classes;  // empty: taken from the data set when training
  std::vector<LayerSpec> layers;
  InitializerSpec weights_initializer{"He", 0.1};
  InitializerSpec bias_initializer{"Constant", 0.1};
  OptimizerSpec optimizer;
  ScheduleSpec schedule;   // the learning rate over the run (constant unless set)
  double clip_norm = 0.0;  // > 0: gradients clipped to this global norm each step; 0: never
  // "CrossEntropyLoss" (probabilities from a final SoftMax), "L2Loss", or "SoftmaxCrossEntropy"
  // (logits: the last layer is not SoftMax; predictions still give probabilities). JSON: "loss":
  // "<type>" or {"type": "<type>", "reduction": "sum" | "mean"}.
  std::string loss = "CrossEntropyLoss";
  std::string loss_reduction = "sum";  // or "mean": over the batch (cnnkit/loss.hpp, Reduction)

  bool operator==(const ModelDescription&) const = default;
};

// Limits that keep a hostile file from asking for terabytes: no sample, activation or layer may
// hold more elements than this (2^26, 256 MiB as float), and no axis may be longer than 2^20.
inline constexpr std::size_t kMaxModelElements = std::size_t{1} << 26;
inline constexpr std::size_t kMaxModelAxis = std::size_t{1} << 20;

// Parses and checks a description: JSON syntax, nesting depth and repeated keys (before anything
// is built from it), known layer types and parameters, value types and ranges, that every layer
// fits the shape that reaches it, and the description limits (layers, parameters, activation
// bytes; see cnnkit/limits.hpp) from the inferred shapes, each layer before it is allocated. Every
// problem throws std::invalid_argument with one message that starts with `source` and says where:
//   "net.json: invalid JSON: parse error at line 3, column 5: ... (byte 41)"
//   "net.json: layer 3 (Conv): unknown parameter 'kernal' (known: kernels, kernel, stride)"
ModelDescription parse_model_description(std::string_view json_text,
                                         std::string_view source = "model description",
                                         const Limits& limits = Limits::from_environment());

// Reads a JSON file (std::runtime_error naming the path when it cannot be read,
// std::invalid_argument when it is larger than limits.file_bytes), then parses it with the path as
// the source.
ModelDescription load_model_description(const std::filesystem::path& path,
                                        const Limits& limits = Limits::from_environment());

// Pretty-printed JSON; parse_model_description(to_json(d)) == d for every valid d.
std::string to_json(const ModelDescription& description);

// One optimizer object as a description holds it ({"type": "Adam", "learning_rate": ...}), read and
// checked as parse_model_description reads and checks the description's "optimizer"; to_json
// writes it on one line. Checkpoints record the optimizer of each parameter with these.
OptimizerSpec parse_optimizer_spec(std::string_view json_text,
                                   std::string_view source = "optimizer",
                                   const Limits& limits = Limits::from_environment());
std::string to_json(const OptimizerSpec& spec);

// Checks a description built in C++ the way parsing does (throws std::invalid_argument).
void validate(const ModelDescription& description,
              const Limits& limits = Limits::from_environment());

// The output shape of every layer for one sample (no batch axis): result[i] is what layer i
// hands on, so result.back() is (categories). Throws std::invalid_argument naming the layer
// whose input does not fit.
std::vector<Shape> infer_shapes(const ModelDescription& description,
                                const Limits& limits = Limits::from_environment());

// Number of categories the model predicts: the size of its last output.
std::size_t num_outputs(const ModelDescription& description);

// The built-in presets: "fashion-lenet" (LeNet-5 on Fashion-MNIST), "fashion-resnet" (a small
// residual network with batch normalisation on Fashion-MNIST), "digits-cnn" (a small CNN on the
// 8x8 digits), "iris-mlp" (a two-layer perceptron on Iris).
std::vector<std::string> preset_names();
bool is_preset(std::string_view name);
// Throws std::invalid_argument listing the presets when `name` is none of them.
ModelDescription preset(std::string_view name);

// A preset name, or else the path of a JSON file.
ModelDescription resolve_model_description(const std::string& preset_or_path,
                                           const Limits& limits = Limits::from_environment());

}  // namespace cnnkit
