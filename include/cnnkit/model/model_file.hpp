// Model files and checkpoints, both safetensors files (see cnnkit/io/safetensors.hpp) that Python's
// `safetensors` package reads:
//   tensors   "{node}.weights", "{node}.bias" for every trainable node, named after the node
//             ("block2.conv1.weights"; a layer without a "name" is node "layer{i}", i counting all
//             layers from 0), shaped as the layer holds them: Conv (K, C, m[, n]) and (K);
//             FullyConnected (inputs, outputs) and (1, outputs); then a layer's buffers
//             ("{node}.running_mean", ...)
//   metadata  "format": "cnnkit-model" or "cnnkit-checkpoint", "format_version": "2",
//             "cnnkit_model": the model description as JSON (so one file is enough to load it)
// A checkpoint adds every parameter's optimizer state as "{node}.{weights|bias}.{optimizer}.{key}"
// (optimizer = the lower-case optimizer name, e.g. "block1.conv1.weights.adam.v") and the metadata
// "epoch", "batch_size", "step", "seed", "random_engine" and "history" (the metrics as a JSON
// array); "optimizers" ({"<tensor>": {"type": "Sgd", "learning_rate": 0.1}, ...}) for each
// parameter whose built-in optimizer is not the one the description builds (its layer was given
// another), which loading gives it again; and "optimizer" (the optimizer's name) when a parameter
// has an optimizer no spec describes (a user optimizer), which load_checkpoint cannot build. A run
// with a validation split adds "validation": {"fraction", "monitor", "best_epoch", "best_metric"}
// (TrainingState), and its history entries "validation_loss" and "validation_accuracy". A
// checkpoint loads as a model too. Every save is atomic: a crash leaves the old file or the new
// one.
//
// format_version 1 (before graphs had names) named every tensor after the layer's index,
// "layer{i}.weights", whatever its node's name; such files still load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cnnkit/layer.hpp"
#include "cnnkit/limits.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/training_state.hpp"

namespace cnnkit {

inline constexpr const char* kModelFormatVersion = "2";

struct ModelLoadOptions {
  // NaN or infinite weights (and optimizer states) are refused by default: such a model predicts
  // nonsense without any error. Allowing them lets a diverged run's file be loaded for inspection.
  bool allow_non_finite = false;
  Limits limits = Limits::from_environment();
};

// The layers must be the ones the description builds (same count, types and shapes), else
// std::invalid_argument.
template <typename T>
void save_model(const std::string& path, const ModelDescription& description,
                const std::vector<Layer<T>*>& layers);

// Builds the described model, fills in the stored weights and gives each parameter recorded in
// the metadata "optimizers" its recorded optimizer (fresh). Every problem names the file: not a
// safetensors file, not a cnnkit model, an unknown format_version, a description that does not
// parse, a missing tensor, one of the wrong shape or one too many, a tensor holding NaN or infinity
// (unless options.allow_non_finite), anything past options.limits (std::invalid_argument; a
// missing or unreadable file std::runtime_error). The library's random engine is left as it was.
template <typename T>
Model<T> load_model(const std::string& path, const ModelLoadOptions& options = {});

// The model, its optimizer states and the training state.
template <typename T>
void save_checkpoint(const std::string& path, const Model<T>& model, const TrainingState& state);

template <typename T>
struct Checkpoint {
  Model<T> model;  // weights and optimizer states restored
  TrainingState state;
};

// load_model plus the optimizer states and the training state, checked the same way. A
// checkpoint of a user optimizer (metadata "optimizer") is refused with a message that says how
// to resume it: cnnkit builds only the optimizers a description names.
template <typename T>
Checkpoint<T> load_checkpoint(const std::string& path, const ModelLoadOptions& options = {});

extern template void save_model<float>(const std::string&, const ModelDescription&,
                                       const std::vector<Layer<float>*>&);
extern template void save_model<double>(const std::string&, const ModelDescription&,
                                        const std::vector<Layer<double>*>&);
extern template Model<float> load_model<float>(const std::string&, const ModelLoadOptions&);
extern template Model<double> load_model<double>(const std::string&, const ModelLoadOptions&);
extern template void save_checkpoint<float>(const std::string&, const Model<float>&,
                                            const TrainingState&);
extern template void save_checkpoint<double>(const std::string&, const Model<double>&,
                                             const TrainingState&);
extern template struct Checkpoint<float>;
extern template struct Checkpoint<double>;
extern template Checkpoint<float> load_checkpoint<float>(const std::string&,
                                                         const ModelLoadOptions&);
extern template Checkpoint<double> load_checkpoint<double>(const std::string&,
                                                           const ModelLoadOptions&);

}  // namespace cnnkit
