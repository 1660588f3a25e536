// The built-in presets, written in the same JSON a user would write, so each one is also an
// example of the format (and goes through the same checks).
#include <array>
#include <stdexcept>
#include <string>
#include <string_view>

#include "cnnkit/model/model_description.hpp"
#include "model/description_checks.hpp"

namespace cnnkit {

namespace {

struct Preset {
  std::string_view name;
  std::string_view json;
};

// LeNet-5 style on Fashion-MNIST.
constexpr std::string_view kFashionLenet = R"({
  "name": "fashion-lenet",
  "input_shape": [1, 28, 28],
  "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
  "layers": [
    {"type": "Conv", "kernels": 6, "kernel": [5, 5], "stride": 1},
    {"type": "ReLU"},
    {"type": "Pooling", "window": [2, 2], "stride": [2, 2]},
    {"type": "Conv", "kernels": 16, "kernel": [5, 5], "stride": 1},
    {"type": "ReLU"},
    {"type": "Pooling", "window": [2, 2], "stride": [2, 2]},
    {"type": "Flatten"},
    {"type": "FullyConnected", "outputs": 120},
    {"type": "ReLU"},
    {"type": "FullyConnected", "outputs": 84},
    {"type": "ReLU"},
    {"type": "FullyConnected", "outputs": 10},
    {"type": "SoftMax"}
  ],
  "weights_initializer": {"type": "He"},
  "bias_initializer": {"type": "Constant", "value": 0.1},
  "optimizer": {"type": "Adam", "learning_rate": 1e-3, "mu": 0.9, "rho": 0.999, "epsilon": 1e-8},
  "loss": "CrossEntropyLoss"
})";

// W4: a small residual network with batch normalisation on Fashion-MNIST (docs/WORKLOADS.md):
// a stem, three blocks ReLU([conv -> BN -> ReLU -> conv -> BN] + skip), the second one strided
// with a 1x1 convolution on its skip, then global average pooling. AdamW with a cosine schedule
// over the whole run; `cnnkit train` adds the preset's recipe (batch 128, crop and flip).
constexpr std::string_view kFashionResnet = R"({
  "name": "fashion-resnet",
  "input_shape": [1, 28, 28],
  "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
  "layers": [
    {"type": "Conv", "name": "stem.conv", "kernels": 16, "kernel": 3, "stride": 1},
    {"type": "BatchNorm", "name": "stem.bn"},
    {"type": "ReLU", "name": "stem.relu"},
    {"type": "Conv", "name": "block1.conv1", "kernels": 16, "kernel": 3, "stride": 1},
    {"type": "BatchNorm", "name": "block1.bn1"},
    {"type": "ReLU", "name": "block1.relu1"},
    {"type": "Conv", "name": "block1.conv2", "kernels": 16, "kernel": 3, "stride": 1},
    {"type": "BatchNorm", "name": "block1.bn2"},
    {"type": "Add", "name": "block1.add", "inputs": ["block1.bn2", "stem.relu"]},
    {"type": "ReLU", "name": "block1.relu"},
    {"type": "Conv", "name": "block2.conv1", "kernels": 32, "kernel": 3, "stride": 2},
    {"type": "BatchNorm", "name": "block2.bn1"},
    {"type": "ReLU", "name": "block2.relu1"},
    {"type": "Conv", "name": "block2.conv2", "kernels": 32, "kernel": 3, "stride": 1},
    {"type": "BatchNorm", "name": "block2.bn2"},
    {"type": "Conv", "name": "block2.skip.conv", "kernels": 32, "kernel": 1, "stride": 2,
     "inputs": ["block1.relu"]},
    {"type": "BatchNorm", "name": "block2.skip.bn"},
    {"type": "Add", "name": "block2.add", "inputs": ["block2.bn2", "block2.skip.bn"]},
    {"type": "ReLU", "name": "block2.relu"},
    {"type": "Conv", "name": "block3.conv1", "kernels": 32, "kernel": 3, "stride": 1},
    {"type": "BatchNorm", "name": "block3.bn1"},
    {"type": "ReLU", "name": "block3.relu1"},
    {"type": "Conv", "name": "block3.conv2", "kernels": 32, "kernel": 3, "stride": 1},
    {"type": "BatchNorm", "name": "block3.bn2"},
    {"type": "Add", "name": "block3.add", "inputs": ["block3.bn2", "block2.relu"]},
    {"type": "ReLU", "name": "block3.relu"},
    {"type": "GlobalAveragePooling", "name": "pool"},
    {"type": "FullyConnected", "name": "fc", "outputs": 10},
    {"type": "SoftMax", "name": "softmax"}
  ],
  "weights_initializer": {"type": "He"},
  "bias_initializer": {"type": "Constant", "value": 0.1},
  "optimizer": {"type": "AdamW", "learning_rate": 1e-3, "mu": 0.9, "rho": 0.999, "epsilon": 1e-8,
                "weight_decay": 1e-4},
  "schedule": {"type": "cosine"},
  "loss": "CrossEntropyLoss"
})";

// The small CNN on the 8x8 digits.
constexpr std::string_view kDigitsCnn = R"({
  "name": "digits-cnn",
  "input_shape": [1, 8, 8],
  "classes": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  "layers": [
    {"type": "Conv", "kernels": 4, "kernel": [3, 3], "stride": 1},
    {"type": "ReLU"},
    {"type": "Pooling", "window": [2, 2], "stride": [2, 2]},
    {"type": "Flatten"},
    {"type": "FullyConnected", "outputs": 32},
    {"type": "ReLU"},
    {"type": "FullyConnected", "outputs": 10},
    {"type": "SoftMax"}
  ],
  "weights_initializer": {"type": "He"},
  "bias_initializer": {"type": "Constant", "value": 0.1},
  "optimizer": {"type": "Adam", "learning_rate": 5e-3, "mu": 0.98, "rho": 0.999, "epsilon": 1e-8},
  "loss": "CrossEntropyLoss"
})";

// Iris: four measurements in cm, three species. One hidden layer of 16 is plenty for 150 samples;
// the larger learning rate suits the few batches an epoch has.
constexpr std::string_view kIrisMlp = R"({
  "name": "iris-mlp",
  "input_shape": [4],
  "classes": ["setosa", "versicolor", "virginica"],
  "layers": [
    {"type": "FullyConnected", "outputs": 16},
    {"type": "ReLU"},
    {"type": "FullyConnected", "outputs": 3},
    {"type": "SoftMax"}
  ],
  "weights_initializer": {"type": "He"},
  "bias_initializer": {"type": "Constant", "value": 0.1},
  "optimizer": {"type": "Adam", "learning_rate": 1e-2, "mu": 0.9, "rho": 0.999, "epsilon": 1e-8},
  "loss": "CrossEntropyLoss"
})";

constexpr std::array<Preset, 4> kPresets{{
    {"fashion-lenet", kFashionLenet},
    {"fashion-resnet", kFashionResnet},
    {"digits-cnn", kDigitsCnn},
    {"iris-mlp", kIrisMlp},
}};

}  // namespace

namespace detail {
std::string preset_list() {
  std::string list;
  for (const Preset& preset : kPresets)
    list += (list.empty() ? "" : ", ") + std::string(preset.name);
  return list;
}
}  // namespace detail

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const Preset& preset : kPresets) names.emplace_back(preset.name);
  return names;
}

bool is_preset(std::string_view name) {
  for (const Preset& preset : kPresets) {
    if (preset.name == name) return true;
  }
  return false;
}

ModelDescription preset(std::string_view name) {
  for (const Preset& preset : kPresets) {
    if (preset.name == name) {
      return parse_model_description(preset.json, "preset '" + std::string(name) + "'");
    }
  }
  throw std::invalid_argument("preset: expected one of " + detail::preset_list() + ", got '" +
                              std::string(name) + "'");
}

ModelDescription resolve_model_description(const std::string& preset_or_path,
                                           const Limits& limits) {
  if (is_preset(preset_or_path)) return preset(preset_or_path);
  return load_model_description(preset_or_path, limits);
}

}  // namespace cnnkit
