// The update-phase options of `cnnkit train`: weight decay, the learning-rate schedule and
// gradient clipping. They change the model description, so a checkpoint and the model file keep
// them and a resumed run must ask for the same.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <string>

#include "cnnkit/model/model_description.hpp"

namespace cnnkit::cli {

struct UpdateArguments {
  std::optional<double> weight_decay;
  bool no_decay_bias_and_norm = false;
  std::string schedule;  // "", "constant", "step" or "cosine"
  std::optional<std::size_t> warmup_steps;
  std::optional<std::size_t> step_size;
  std::optional<double> gamma;
  std::optional<std::size_t> total_steps;
  std::optional<double> clip_norm;

  bool given() const;
};

void add_update_options(CLI::App& train, UpdateArguments& args);

// Writes the given options into the description. Throws UsageError for --step-size or --gamma
// without a step schedule (they would be ignored).
void apply_update_overrides(ModelDescription& description, const UpdateArguments& args);

// ", weight decay 0.0001 (decoupled), cosine schedule (warm-up 100 steps), clip norm 1": the
// settings that differ from the defaults, for the line a run starts with.
std::string update_settings_text(const ModelDescription& description);

}  // namespace cnnkit::cli
