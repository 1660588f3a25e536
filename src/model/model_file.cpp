// Model files and checkpoints on top of the safetensors reader and writer. Loading checks the file
// against the description it carries: every parameter and buffer present with the shape the
// description builds, nothing left over, so a file either loads completely or not at all.
#include "cnnkit/model/model_file.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include "check.hpp"
#include "cnnkit/io/safetensors.hpp"
#include "io/json_structure.hpp"
#include "model/description_checks.hpp"
#include "model/training_state_metadata.hpp"

namespace cnnkit {

namespace {

using nlohmann::json;

constexpr const char* kModelFormat = "cnnkit-model";
constexpr const char* kCheckpointFormat = "cnnkit-checkpoint";

// What the tensors of each layer are named after: its node's name ("block2.conv1"; a chain's
// default names are "layer{i}"), or in format_version 1 its index ("layer{i}").
std::vector<std::string> tensor_prefixes(const ModelDescription& description,
                                         const std::string& version) {
  std::vector<std::string> prefixes;
  for (std::size_t i = 0; i < description.layers.size(); ++i) {
    prefixes.push_back(version == "1" ? "layer" + std::to_string(i)
                                      : detail::node_name(description, i));
  }
  return prefixes;
}

std::string tensor_name(const std::string& prefix, const std::string& parameter) {
  return prefix + "." + parameter;
}

// "block1.conv1.weights.adam.": the prefix of one parameter's optimizer state tensors.
std::string state_prefix(const std::string& tensor, const std::string& optimizer_name) {
  std::string lower = optimizer_name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return tensor + "." + lower + ".";
}

// "layer 4 (FullyConnected)", with the node's name where the description gives one:
// "layer 7 'block2.conv1' (Conv)" (as description errors say it).
template <typename T>
std::string layer_label(const ModelDescription& description, std::size_t i, const Layer<T>& layer) {
  const std::string& name = description.layers[i].name;
  return "layer " + std::to_string(i) + (name.empty() ? "" : " '" + name + "'") + " (" +
         layer.type() + ")";
}

[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw std::invalid_argument(path + ": " + message);
}

// The layers must be those the description builds: same count, types and parameter shapes.
template <typename T>
void check_layers_match(const ModelDescription& description, const std::vector<Layer<T>*>& layers,
                        const std::string& path) {
  const detail::RandomStateGuard keep_random_state;
  const detail::LayerChain<T> chain = detail::make_layers<T>(
      description, "model '" + description.name + "'", Limits::from_environment());
  if (chain.layers.size() != layers.size()) {
    fail(path, "expected " + std::to_string(chain.layers.size()) + " layers as model '" +
                   description.name + "' describes, got " + std::to_string(layers.size()));
  }
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer<T>& expected = *chain.layers[i];
    const Layer<T>& actual = *layers[i];
    const auto expected_parameters = expected.parameters();
    const auto actual_parameters = actual.parameters();
    bool same =
        expected.type() == actual.type() && expected_parameters.size() == actual_parameters.size();
    for (std::size_t p = 0; same && p < actual_parameters.size(); ++p) {
      same = expected_parameters[p]->value.shape() == actual_parameters[p]->value.shape();
    }
    if (!same) {
      fail(path, "layer " + std::to_string(i) + ": expected a " + expected.type() +
                     " as the description builds it, got a " + actual.type() +
                     " with other parameters");
    }
  }
}

// Every layer's parameters, then its buffers (state that is not trained, such as BatchNorm's
// running statistics): "{node}.{name}".
template <typename T>
std::vector<NamedTensor<T>> parameter_tensors(const std::vector<Layer<T>*>& layers,
                                              const std::vector<std::string>& prefixes) {
  std::vector<NamedTensor<T>> tensors;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    Layer<T>& layer = *layers[i];
    for (const Parameter<T>* parameter : std::as_const(layer).parameters()) {
      tensors.push_back({tensor_name(prefixes[i], parameter->name), parameter->value});
    }
    for (const LayerBuffer<T>& buffer : layer.buffers()) {
      tensors.push_back({tensor_name(prefixes[i], buffer.name), *buffer.value});
    }
  }
  return tensors;
}

std::map<std::string, std::string> base_metadata(const ModelDescription& description,
                                                 const char* format) {
  return {{"format", format},
          {"format_version", kModelFormatVersion},
          {"cnnkit_model", to_json(description)}};
}

// A checkpoint of parameters with an optimizer no spec describes (a user optimizer) names it in
// the metadata "optimizer": load_checkpoint cannot build that optimizer, and load_model must know
// the prefix of its state tensors.
constexpr const char* kOptimizerKey = "optimizer";
// Every parameter whose built-in optimizer differs from the one the description builds (the caller
// gave its layer another) is recorded in the metadata "optimizers", {"<tensor>": {"type": ...}},
// and gets that optimizer again when the file is loaded.
constexpr const char* kOptimizersKey = "optimizers";

struct OptimizerRecords {
  // Tensor name -> optimizer object, in the order of the parameters, "type" first in each.
  nlohmann::ordered_json specs = nlohmann::ordered_json::object();
  std::string foreign;  // the first user optimizer's name, if any
};

template <typename T>
OptimizerRecords record_optimizers(const Model<T>& model,
                                   const std::vector<std::string>& prefixes) {
  // The description's optimizer as T holds it, to compare like with like.
  const std::optional<OptimizerSpec> described =
      describe_optimizer(*build_optimizer<T>(model.description.optimizer));
  OptimizerRecords records;
  const std::vector<Layer<T>*>& layers = model.graph.layers();
  for (std::size_t i = 0; i < layers.size(); ++i) {
    for (const Parameter<T>* parameter : std::as_const(*layers[i]).parameters()) {
      if (!parameter->optimizer) continue;
      const std::optional<OptimizerSpec> spec = describe_optimizer(*parameter->optimizer);
      if (!spec) {
        if (records.foreign.empty()) records.foreign = parameter->optimizer->name();
      } else if (spec != described) {
        records.specs[tensor_name(prefixes[i], parameter->name)] =
            nlohmann::ordered_json::parse(to_json(*spec));
      }
    }
  }
  return records;
}

// A stored tensor must hold finite values unless the caller allows otherwise.
template <typename T>
void check_finite(const Tensor<T>& tensor, const std::string& name, const std::string& path,
                  const ModelLoadOptions& options) {
  if (options.allow_non_finite) return;
  for (std::size_t i = 0; i < tensor.size(); ++i) {
    if (!std::isfinite(tensor[i])) {
      fail(path, "tensor '" + name + "': expected finite values, got " +
                     detail::format_number(tensor[i]) + " at element " + std::to_string(i) +
                     " (a diverged run? to load it anyway: ModelLoadOptions::allow_non_finite, "
                     "or --allow-non-finite on the command line)");
    }
  }
}

// Gives each parameter recorded in the metadata "optimizers" the optimizer recorded for it.
template <typename T>
void set_recorded_optimizers(const std::string& text,
                             const std::map<std::string, Parameter<T>*>& parameters,
                             const std::string& path, const Limits& limits) {
  const std::string where = path + ": metadata optimizers";
  detail::check_json_structure(text, where, {.depth = limits.json_depth});
  json records;
  try {
    records = json::parse(text);
  } catch (const json::parse_error& error) {
    fail(path, "metadata optimizers: expected JSON, got invalid JSON at byte " +
                   std::to_string(error.byte));
  } catch (const json::exception&) {
    fail(path, "metadata optimizers: expected JSON, got invalid JSON (a number out of range)");
  }
  if (!records.is_object()) {
    fail(path, "metadata optimizers: expected an object {\"<tensor>\": {\"type\": ...}}, got " +
                   std::string(records.type_name()));
  }
  for (const auto& [name, record] : records.items()) {
    const auto parameter = parameters.find(name);
    if (parameter == parameters.end()) {
      fail(path,
           "metadata optimizers: expected the name of a parameter tensor, got '" + name + "'");
    }
    const OptimizerSpec spec =
        parse_optimizer_spec(record.dump(), where + " '" + name + "'", limits);
    parameter->second->set_optimizer(*build_optimizer<T>(spec));
  }
}

// The model a file describes, with its stored weights and its recorded optimizers; `used` collects
// the tensor names taken, `prefixes` gets each layer's tensor prefix in this file's version.
template <typename T>
Model<T> model_from_file(const SafetensorsFile<T>& file, const std::string& path,
                         std::set<std::string>& used, std::vector<std::string>& prefixes,
                         const ModelLoadOptions& options) {
  const auto format = file.metadata.find("format");
  if (format == file.metadata.end() ||
      (format->second != kModelFormat && format->second != kCheckpointFormat)) {
    fail(path,
         "expected a cnnkit model file (metadata format cnnkit-model or cnnkit-checkpoint), "
         "got " +
             (format == file.metadata.end() ? std::string("no format in the metadata")
                                            : "format '" + format->second + "'"));
  }
  const std::string& version = detail::metadata_at(file.metadata, "format_version", path);
  if (version != "1" && version != kModelFormatVersion) {
    fail(path, "expected format_version 1 to " + std::string(kModelFormatVersion) +
                   " (the ones this cnnkit reads), got '" + version + "'");
  }
  const ModelDescription description =
      parse_model_description(detail::metadata_at(file.metadata, "cnnkit_model", path),
                              path + " (metadata cnnkit_model)", options.limits);
  prefixes = tensor_prefixes(description, version);

  const detail::RandomStateGuard keep_random_state;  // loading must not change later draws
  Model<T> model = build_model<T>(description, options.limits);
  std::map<std::string, Parameter<T>*> parameters;  // by tensor name
  for (std::size_t i = 0; i < model.graph.layers().size(); ++i) {
    Layer<T>& layer = *model.graph.layers()[i];
    // A parameter's value or a buffer, "{node}.{tensor}", with the shape the description builds.
    const auto take = [&](const std::string& tensor, Tensor<T>& value) {
      const std::string name = tensor_name(prefixes[i], tensor);
      const std::string what = layer_label(description, i, layer) + " " + tensor;
      if (!file.contains(name)) fail(path, "missing tensor '" + name + "' for " + what);
      const Tensor<T>& stored = file.at(name);
      if (stored.shape() != value.shape()) {
        fail(path, "tensor '" + name + "': expected shape " + to_string(value.shape()) + " for " +
                       what + ", got " + to_string(stored.shape()));
      }
      check_finite(stored, name, path, options);
      value = stored;
      used.insert(name);
    };
    for (Parameter<T>* parameter : layer.parameters()) {
      take(parameter->name, parameter->value);
      parameters.emplace(tensor_name(prefixes[i], parameter->name), parameter);
    }
    for (const LayerBuffer<T>& buffer : layer.buffers()) take(buffer.name, *buffer.value);
  }
  if (const auto found = file.metadata.find(kOptimizersKey); found != file.metadata.end()) {
    set_recorded_optimizers(found->second, parameters, path, options.limits);
  }
  return model;
}

template <typename T>
void reject_unused(const SafetensorsFile<T>& file, const std::set<std::string>& used,
                   const std::string& path) {
  for (const NamedTensor<T>& tensor : file.tensors) {
    if (!used.contains(tensor.name)) {
      fail(path, "unexpected tensor '" + tensor.name +
                     "' (not a parameter of the model it "
                     "describes)");
    }
  }
}

// Restores every parameter's optimizer state from the "{node}.{p}.{optimizer}.{key}" tensors.
template <typename T>
void restore_optimizer_states(Model<T>& model, const SafetensorsFile<T>& file,
                              const std::string& path, const std::vector<std::string>& prefixes,
                              std::set<std::string>& used, const ModelLoadOptions& options) {
  for (std::size_t i = 0; i < model.graph.layers().size(); ++i) {
    for (Parameter<T>* parameter : model.graph.layers()[i]->parameters()) {
      Optimizer<T>& optimizer = *parameter->optimizer;
      const std::string prefix =
          state_prefix(tensor_name(prefixes[i], parameter->name), optimizer.name());
      std::map<std::string, Tensor<T>> state;
      for (const auto& [key, fresh] : optimizer.state()) {
        const std::string name = prefix + key;
        if (!file.contains(name)) {
          fail(path, "missing optimizer state tensor '" + name + "'");
        }
        check_finite(file.at(name), name, path, options);
        state.emplace(key, file.at(name));
        used.insert(name);
      }
      try {
        optimizer.set_state(state);
      } catch (const std::invalid_argument& error) {
        fail(path, "optimizer state of '" + tensor_name(prefixes[i], parameter->name) +
                       "': " + error.what());
      }
    }
  }
}

}  // namespace

template <typename T>
void save_model(const std::string& path, const ModelDescription& description,
                const std::vector<Layer<T>*>& layers) {
  check_layers_match(description, layers, path);
  save_safetensors(path,
                   parameter_tensors(layers, tensor_prefixes(description, kModelFormatVersion)),
                   base_metadata(description, kModelFormat));
}

template <typename T>
Model<T> load_model(const std::string& path, const ModelLoadOptions& options) {
  const SafetensorsFile<T> file = load_safetensors<T>(path, options.limits);
  std::set<std::string> used;
  std::vector<std::string> prefixes;
  Model<T> model = model_from_file(file, path, used, prefixes, options);
  // A checkpoint also loads as a model: its optimizer states are simply not needed.
  if (file.metadata.at("format") == kCheckpointFormat) {
    for (std::size_t i = 0; i < model.graph.layers().size(); ++i) {
      for (Parameter<T>* parameter : model.graph.layers()[i]->parameters()) {
        const auto foreign = file.metadata.find(kOptimizerKey);
        const std::string prefix = state_prefix(
            tensor_name(prefixes[i], parameter->name),
            foreign != file.metadata.end() ? foreign->second : parameter->optimizer->name());
        for (const NamedTensor<T>& tensor : file.tensors) {
          if (tensor.name.starts_with(prefix)) used.insert(tensor.name);
        }
      }
    }
  }
  reject_unused(file, used, path);
  return model;
}

template <typename T>
void save_checkpoint(const std::string& path, const Model<T>& model, const TrainingState& state) {
  check_layers_match(model.description, model.graph.layers(), path);
  const std::vector<std::string> prefixes = tensor_prefixes(model.description, kModelFormatVersion);
  std::vector<NamedTensor<T>> tensors = parameter_tensors(model.graph.layers(), prefixes);
  for (std::size_t i = 0; i < model.graph.layers().size(); ++i) {
    const Layer<T>& layer = *model.graph.layers()[i];
    for (const Parameter<T>* parameter : layer.parameters()) {
      if (!parameter->optimizer) {
        fail(path, layer_label(model.description, i, layer) + " " + parameter->name +
                       ": expected an optimizer to save the state of, got none");
      }
      const std::string prefix =
          state_prefix(tensor_name(prefixes[i], parameter->name), parameter->optimizer->name());
      for (const auto& [key, tensor] : parameter->optimizer->state()) {
        tensors.push_back({prefix + key, tensor});
      }
    }
  }
  std::map<std::string, std::string> metadata = base_metadata(model.description, kCheckpointFormat);
  metadata.merge(detail::training_state_metadata(state));
  const OptimizerRecords records = record_optimizers(model, prefixes);
  if (!records.foreign.empty()) metadata[kOptimizerKey] = records.foreign;
  if (!records.specs.empty()) metadata[kOptimizersKey] = records.specs.dump();
  save_safetensors(path, tensors, metadata);
}

template <typename T>
Checkpoint<T> load_checkpoint(const std::string& path, const ModelLoadOptions& options) {
  const SafetensorsFile<T> file = load_safetensors<T>(path, options.limits);
  const auto format = file.metadata.find("format");
  if (format != file.metadata.end() && format->second == kModelFormat) {
    fail(path,
         "expected a checkpoint (format cnnkit-checkpoint), got a model file (format "
         "cnnkit-model) that holds no optimizer state");
  }
  std::set<std::string> used;
  std::vector<std::string> prefixes;
  Checkpoint<T> checkpoint{model_from_file(file, path, used, prefixes, options), {}};
  if (const auto foreign = file.metadata.find(kOptimizerKey); foreign != file.metadata.end()) {
    const bool stateless = std::ranges::none_of(
        file.tensors, [&](const NamedTensor<T>& tensor) { return !used.contains(tensor.name); });
    fail(path, "expected a checkpoint of optimizer '" +
                   checkpoint.model.description.optimizer.type +
                   "' as its model description says, got one of the user optimizer '" +
                   foreign->second + "', which load_checkpoint cannot build: load the weights " +
                   "with load_model, set the optimizer on the layers again" +
                   (stateless ? " (it saved no state, so that resumes it exactly)"
                              : " and restore its saved state with set_state"));
  }
  restore_optimizer_states(checkpoint.model, file, path, prefixes, used, options);
  reject_unused(file, used, path);

  checkpoint.state = detail::training_state_from_metadata(
      file.metadata, path, options.limits,
      /*has_schedule=*/checkpoint.model.description.schedule != ScheduleSpec{});
  return checkpoint;
}

template void save_model<float>(const std::string&, const ModelDescription&,
                                const std::vector<Layer<float>*>&);
template void save_model<double>(const std::string&, const ModelDescription&,
                                 const std::vector<Layer<double>*>&);
template Model<float> load_model<float>(const std::string&, const ModelLoadOptions&);
template Model<double> load_model<double>(const std::string&, const ModelLoadOptions&);
template void save_checkpoint<float>(const std::string&, const Model<float>&, const TrainingState&);
template void save_checkpoint<double>(const std::string&, const Model<double>&,
                                      const TrainingState&);
template struct Checkpoint<float>;
template struct Checkpoint<double>;
template Checkpoint<float> load_checkpoint<float>(const std::string&, const ModelLoadOptions&);
template Checkpoint<double> load_checkpoint<double>(const std::string&, const ModelLoadOptions&);

}  // namespace cnnkit
