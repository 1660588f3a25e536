// The per-channel normalisation a model is trained with, kept in the model: a Normalize layer
// (layers/normalize.hpp) named "normalize" in front of everything else, so that the saved model
// predicts from raw data in C++, Python and the command line alike.
#pragma once

#include <vector>

#include "cnnkit/model/model_description.hpp"

namespace cnnkit {

inline constexpr const char* kInputNormalizationName = "normalize";

// Puts Normalize(mean, std) first: every node that read the model's input reads its output
// instead, and nodes without a name get their default name ("layer{i}") written out, so that
// references to them stay true. A description whose first node already is this normalisation is
// left as it is (resuming a run); another normalisation there, or a node of that name elsewhere,
// throws std::invalid_argument. The values are checked when the model is built.
void add_input_normalization(ModelDescription& description, const std::vector<double>& mean,
                             const std::vector<double>& standard_deviation);

}  // namespace cnnkit
