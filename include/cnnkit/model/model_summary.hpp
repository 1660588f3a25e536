// A table of a model like Keras's model.summary(): every layer with its output shape, its
// parameter count and the FLOPs of one forward pass, then the totals.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cnnkit/model/model_description.hpp"

namespace cnnkit {

struct SummaryRow {
  std::string layer;   // "Conv 4 kernels 3x3, stride 1", "FullyConnected 64 -> 32", ...
  Shape output_shape;  // one sample, no batch axis
  std::size_t parameters = 0;
  std::size_t flops = 0;            // Layer::forward_flops for a batch of one
  std::string node;                 // the node's name ("layer3" unless the description names it)
  std::vector<std::string> inputs;  // the names of the nodes it reads ("input": the model's input)
};

struct ModelSummary {
  std::string name;
  Shape input_shape;
  std::vector<SummaryRow> rows;  // one per layer, in order
  std::size_t total_parameters = 0;
  std::size_t total_flops = 0;
  // Whether some layer reads other than the one before it: the table then shows every node's
  // name and inputs.
  bool graph = false;
};

// Builds the layers to ask them (the library's random engine is left as it was); throws
// std::invalid_argument as validate() does.
ModelSummary summarize(const ModelDescription& description,
                       const Limits& limits = Limits::from_environment());

// The table, ready to print (ends with a newline).
std::string format_summary(const ModelSummary& summary);

}  // namespace cnnkit
