// add_input_normalization (input_normalization.hpp).
#include "cnnkit/model/input_normalization.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "cnnkit/graph.hpp"
#include "model/description_checks.hpp"

namespace cnnkit {

void add_input_normalization(ModelDescription& description, const std::vector<double>& mean,
                             const std::vector<double>& standard_deviation) {
  LayerSpec normalize;
  normalize.type = "Normalize";
  normalize.name = kInputNormalizationName;
  normalize.mean = mean;
  normalize.standard_deviation = standard_deviation;
  std::vector<LayerSpec>& layers = description.layers;
  if (!layers.empty() && layers.front().name == kInputNormalizationName) {
    if (layers.front() == normalize) return;
    throw std::invalid_argument(
        "add_input_normalization: expected model '" + description.name +
        "' without an input normalisation or with this one, got another first node '" +
        std::string(kInputNormalizationName) + "' (" + layers.front().type + ")");
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].name == kInputNormalizationName) {
      throw std::invalid_argument("add_input_normalization: expected no node named '" +
                                  std::string(kInputNormalizationName) + "' in model '" +
                                  description.name + "', got layer " + std::to_string(i));
    }
  }
  // A chain names no inputs: its first layer then reads the one before it, the normalisation.
  const bool graph =
      std::ranges::any_of(layers, [](const LayerSpec& l) { return !l.inputs.empty(); });
  for (std::size_t i = 0; graph && i < layers.size(); ++i) {
    if (layers[i].name.empty()) layers[i].name = detail::node_name(description, i);
    if (layers[i].inputs.empty() && i == 0) layers[i].inputs = {kInputNormalizationName};
    std::ranges::replace(layers[i].inputs, std::string(Graph<float>::kInput),
                         std::string(kInputNormalizationName));
  }
  layers.insert(layers.begin(), normalize);
}

}  // namespace cnnkit
