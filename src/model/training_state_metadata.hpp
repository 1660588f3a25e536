// A checkpoint's training state as safetensors metadata: the epoch, batch size, schedule
// position, seed, random engine, the history of epoch metrics and the validation record, each a
// string (safetensors metadata maps strings to strings), and read back with every value checked.
#pragma once

#include <map>
#include <string>

#include "cnnkit/limits.hpp"
#include "cnnkit/model/training_state.hpp"

namespace cnnkit::detail {

using Metadata = std::map<std::string, std::string>;

Metadata training_state_metadata(const TrainingState& state);

// Throws std::invalid_argument naming `path` for a missing or malformed entry. `has_schedule`:
// the checkpoint's model has a learning-rate schedule, whose position ("step") must be there.
TrainingState training_state_from_metadata(const Metadata& metadata, const std::string& path,
                                           const Limits& limits, bool has_schedule);

// metadata[key], or std::invalid_argument naming `path` and the missing key.
const std::string& metadata_at(const Metadata& metadata, const std::string& key,
                               const std::string& path);

}  // namespace cnnkit::detail
