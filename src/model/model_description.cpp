// JSON -> ModelDescription (writing: model_description_json.cpp). Reading is strict on purpose: a
// typo such as "kernal" or a layer type the library does not know is an error with the layer's
// index, never silently a default, because a silently different network is the hardest mistake to
// find later.
#include "cnnkit/model/model_description.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "cnnkit/model/model.hpp"
#include "cnnkit/registry.hpp"
#include "io/file_bytes.hpp"
#include "io/json_structure.hpp"
#include "model/description_checks.hpp"
#include "model/json_reader.hpp"

namespace cnnkit {

namespace {

using detail::show;
using nlohmann::json;

// A message cut to a readable length: nlohmann quotes the offending token, which may be huge.
std::string shortened(const std::string& message) {
  return message.size() > 200 ? message.substr(0, 197) + "..." : message;
}

// Reads one JSON document into a ModelDescription; every message starts with the source.
class DescriptionReader : private detail::JsonReader {
 public:
  DescriptionReader(std::string_view source, const Limits& limits)
      : JsonReader(source), limits_(limits) {}

  // One optimizer object on its own (a checkpoint's record of a parameter's optimizer).
  OptimizerSpec read_optimizer_document(const json& document) const {
    return read_optimizer(document);
  }

  ModelDescription read(const json& document) const {
    if (!document.is_object()) {
      fail("the document", "a JSON object {\"input_shape\": ..., \"layers\": [...]}",
           show(document));
    }
    check_keys(document,
               {"name", "input_shape", "classes", "layers", "weights_initializer",
                "bias_initializer", "optimizer", "schedule", "clip_norm", "loss"},
               "the document", "key");
    ModelDescription description;
    if (document.contains("name")) description.name = read_string(document["name"], "name");
    description.input_shape =
        read_shape(required(document, "input_shape", "the document"), "input_shape", 3);
    if (document.contains("classes")) {
      const json& classes = document["classes"];
      if (!classes.is_array()) fail("classes", "an array of class names", show(classes));
      for (std::size_t i = 0; i < classes.size(); ++i) {
        description.classes.push_back(
            read_string(classes[i], "classes[" + std::to_string(i) + "]"));
      }
    }
    const json& layers = required(document, "layers", "the document");
    if (!layers.is_array()) fail("layers", "an array of layer objects", show(layers));
    if (layers.size() > limits_.layers) {
      fail(
          "layers",
          "at most " + std::to_string(limits_.layers) + " layers" + limit_hint("CNNKIT_MAX_LAYERS"),
          std::to_string(layers.size()));
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
      description.layers.push_back(read_layer(layers[i], i));
    }
    if (document.contains("weights_initializer")) {
      description.weights_initializer =
          read_initializer(document["weights_initializer"], "weights_initializer");
    }
    if (document.contains("bias_initializer")) {
      description.bias_initializer =
          read_initializer(document["bias_initializer"], "bias_initializer");
    }
    if (document.contains("optimizer")) {
      description.optimizer = read_optimizer(document["optimizer"]);
    }
    if (document.contains("schedule")) {
      description.schedule = read_schedule(document["schedule"]);
    }
    if (document.contains("clip_norm")) {
      description.clip_norm = read_number(document["clip_norm"], "clip_norm");
      // Absent means no clipping; written, it must be a norm (0 would zero every step).
      if (!(description.clip_norm > 0)) {
        fail("clip_norm", "a number > 0 (leave the key out for no clipping)",
             show(document["clip_norm"]));
      }
    }
    if (document.contains("loss")) read_loss(document["loss"], description);
    return description;
  }

 private:
  // Conv padding: "same", "valid", p (every side of every axis), or an array of 1 or 2 axes,
  // each p (both sides) or [before, after].
  ConvPadding read_padding(const json& value, const std::string& where) const {
    const std::string expected =
        "\"same\", \"valid\", a size, or an array of 1 or 2 axes, each a size or [before, "
        "after]";
    if (value.is_string()) {
      const std::string mode = value.get<std::string>();
      if (mode == "same") return ConvPadding::same();
      if (mode == "valid") return ConvPadding::valid();
      fail(where, expected, show(value));
    }
    if (value.is_number()) return ConvPadding::symmetric(read_count(value, where));
    if (!value.is_array() || value.empty() || value.size() > 2) fail(where, expected, show(value));
    std::vector<AxisPadding> sizes;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      const json& axis = value[i];
      if (axis.is_array()) {
        if (axis.size() != 2) fail(at, "[before, after]", show(axis));
        sizes.push_back({read_count(axis[0], at + "[0]"), read_count(axis[1], at + "[1]")});
      } else {
        const std::size_t both = read_count(axis, at);
        sizes.push_back({both, both});
      }
    }
    return ConvPadding::explicit_sizes(std::move(sizes));
  }

  // A non-empty array of node names, at most limits.fan_in of them (checked before reading them).
  std::vector<std::string> read_inputs(const json& value, const std::string& where) const {
    if (!value.is_array() || value.empty()) {
      fail(where, "a non-empty array of node names", show(value));
    }
    if (value.size() > limits_.fan_in) {
      fail(
          where,
          "at most " + std::to_string(limits_.fan_in) + " inputs" + limit_hint("CNNKIT_MAX_FAN_IN"),
          std::to_string(value.size()));
    }
    std::vector<std::string> names;
    for (std::size_t i = 0; i < value.size(); ++i) {
      names.push_back(read_string(value[i], where + "[" + std::to_string(i) + "]"));
    }
    return names;
  }

  // A registered type's own keys: numbers, each kept by name.
  void read_attributes(const json& value, std::initializer_list<std::string_view> common,
                       const std::string& where, std::map<std::string, double>& into) const {
    for (const auto& [key, item] : value.items()) {
      if (std::find(common.begin(), common.end(), key) != common.end()) continue;
      into[key] = read_number(item, where + " " + key);
    }
  }

  LayerSpec read_layer(const json& value, std::size_t index) const {
    const std::string where = "layer " + std::to_string(index);
    if (!value.is_object()) fail(where, "an object {\"type\": ...}", show(value));
    LayerSpec layer;
    layer.type = read_string(required(value, "type", where), where + " type");
    const std::string in = where + " (" + layer.type + ")";
    if (value.contains("name")) {
      layer.name = read_string(value["name"], in + " name");
      if (layer.name.empty()) fail(in + " name", "a name (or no \"name\" key)", "\"\"");
    }
    if (value.contains("inputs")) layer.inputs = read_inputs(value["inputs"], in + " inputs");
    if (layer.type == "Conv") {
      check_keys(value,
                 {"type", "name", "inputs", "kernels", "kernel", "stride", "padding", "dilation",
                  "groups"},
                 in, "parameter");
      layer.kernels = read_size(required(value, "kernels", in), in + " kernels");
      layer.kernel = read_shape(required(value, "kernel", in), in + " kernel", 2);
      layer.stride =
          value.contains("stride") ? read_shape(value["stride"], in + " stride", 2) : Shape{1};
      if (value.contains("padding")) {
        layer.padding = read_padding(value["padding"], in + " padding");
      }
      if (value.contains("dilation")) {
        layer.dilation = read_shape(value["dilation"], in + " dilation", 2);
      }
      if (value.contains("groups")) layer.groups = read_size(value["groups"], in + " groups");
    } else if (layer.type == "Pooling" || layer.type == "AveragePooling") {
      check_keys(value, {"type", "name", "inputs", "window", "stride"}, in, "parameter");
      layer.window = read_shape(required(value, "window", in), in + " window", 2);
      layer.stride =
          value.contains("stride") ? read_shape(value["stride"], in + " stride", 2) : layer.window;
    } else if (layer.type == "FullyConnected") {
      check_keys(value, {"type", "name", "inputs", "outputs"}, in, "parameter");
      layer.outputs = read_size(required(value, "outputs", in), in + " outputs");
    } else if (layer.type == "LeakyReLU") {
      check_keys(value, {"type", "name", "inputs", "slope"}, in, "parameter");
      if (value.contains("slope")) layer.slope = read_number(value["slope"], in + " slope");
    } else if (layer.type == "Dropout") {
      // The range ([0, 1)) is checked with the layer's shapes.
      check_keys(value, {"type", "name", "inputs", "p"}, in, "parameter");
      if (value.contains("p")) layer.p = read_number(value["p"], in + " p");
    } else if (layer.type == "Normalize") {
      // That the stds are above 0 and the lists fit the channels is checked with the shapes.
      check_keys(value, {"type", "name", "inputs", "mean", "std"}, in, "parameter");
      layer.mean = read_numbers(required(value, "mean", in), in + " mean");
      layer.standard_deviation = read_numbers(required(value, "std", in), in + " std");
    } else if (layer.type == "BatchNorm") {
      // The ranges (momentum in [0, 1], epsilon above 0) are checked with the layer's shapes.
      check_keys(value, {"type", "name", "inputs", "momentum", "epsilon"}, in, "parameter");
      if (value.contains("momentum")) {
        layer.momentum = read_number(value["momentum"], in + " momentum");
      }
      if (value.contains("epsilon")) layer.epsilon = read_number(value["epsilon"], in + " epsilon");
    } else if (layer.type == "Flatten" || layer.type == "ReLU" || layer.type == "SoftMax" ||
               layer.type == "Sigmoid" || layer.type == "TanH" ||
               layer.type == "GlobalAveragePooling" || layer.type == "Add" ||
               layer.type == "Concat") {
      check_keys(value, {"type", "name", "inputs"}, in, "parameter");
    } else if (is_registered_layer(layer.type)) {
      read_attributes(value, {"type", "name", "inputs"}, in, layer.attributes);
    } else {
      throw std::invalid_argument(source() + ": " + where + ": unknown layer type '" + layer.type +
                                  "' (known: " + detail::known_layer_types() +
                                  detail::registry_hint("layer", "register_layer") + ")");
    }
    return layer;
  }

  // "loss": "<type>" or {"type": "<type>", "reduction": "sum" | "mean"}.
  void read_loss(const json& value, ModelDescription& description) const {
    if (value.is_string()) {
      description.loss = value.get<std::string>();
      return;
    }
    if (!value.is_object()) {
      fail("loss", "a loss type or an object {\"type\": ..., \"reduction\": ...}", show(value));
    }
    check_keys(value, {"type", "reduction"}, "loss", "key");
    description.loss = read_string(required(value, "type", "loss"), "loss type");
    if (value.contains("reduction")) {
      description.loss_reduction = read_string(value["reduction"], "loss reduction");
    }
  }

  InitializerSpec read_initializer(const json& value, const std::string& where) const {
    if (!value.is_object()) fail(where, "an object {\"type\": ...}", show(value));
    InitializerSpec spec;
    spec.type = read_string(required(value, "type", where), where + " type");
    if (spec.type == "Constant") {
      check_keys(value, {"type", "value"}, where + " (Constant)", "parameter");
      if (value.contains("value")) spec.value = read_number(value["value"], where + " value");
    } else {
      check_keys(value, {"type"}, where + " (" + spec.type + ")", "parameter");
    }
    return spec;  // the type itself is checked by validate()
  }

  OptimizerSpec read_optimizer(const json& value) const {
    if (!value.is_object()) fail("optimizer", "an object {\"type\": ...}", show(value));
    OptimizerSpec spec;
    spec.type = read_string(required(value, "type", "optimizer"), "optimizer type");
    const std::string in = "optimizer (" + spec.type + ")";
    if (spec.type == "Adam" || spec.type == "AdamW") {
      check_keys(
          value,
          {"type", "learning_rate", "mu", "rho", "epsilon", "weight_decay", "decay_bias_and_norm"},
          in, "parameter");
    } else if (spec.type == "SgdWithMomentum") {
      check_keys(value,
                 {"type", "learning_rate", "momentum", "weight_decay", "decay_bias_and_norm"}, in,
                 "parameter");
    } else if (is_registered_optimizer(spec.type)) {
      read_attributes(value, {"type", "learning_rate"}, in, spec.attributes);
      if (value.contains("learning_rate")) {
        spec.learning_rate = read_number(value["learning_rate"], in + " learning_rate");
      }
      return spec;
    } else {
      check_keys(value, {"type", "learning_rate", "weight_decay", "decay_bias_and_norm"}, in,
                 "parameter");
    }
    const auto number = [&](const char* key, double& field) {
      if (value.contains(key)) field = read_number(value[key], in + " " + key);
    };
    number("learning_rate", spec.learning_rate);
    number("mu", spec.mu);
    number("rho", spec.rho);
    number("epsilon", spec.epsilon);
    number("momentum", spec.momentum);
    number("weight_decay", spec.weight_decay);
    if (value.contains("decay_bias_and_norm")) {
      const json& flag = value["decay_bias_and_norm"];
      if (!flag.is_boolean()) fail(in + " decay_bias_and_norm", "true or false", show(flag));
      spec.decay_bias_and_norm = flag.get<bool>();
    }
    return spec;  // the ranges are checked by validate()
  }

  // A whole number >= 0 (steps).
  std::size_t read_steps(const json& value, const std::string& where) const {
    if (!value.is_number_unsigned()) fail(where, "a whole number >= 0", show(value));
    return static_cast<std::size_t>(value.get<std::uint64_t>());
  }

  ScheduleSpec read_schedule(const json& value) const {
    if (!value.is_object()) fail("schedule", "an object {\"type\": ...}", show(value));
    ScheduleSpec spec;
    spec.type = read_string(required(value, "type", "schedule"), "schedule type");
    const std::string in = "schedule (" + spec.type + ")";
    if (spec.type == "step") {
      check_keys(value, {"type", "step_size", "gamma", "warmup_steps", "total_steps"}, in,
                 "parameter");
      spec.step_size = read_steps(required(value, "step_size", in), in + " step_size");
      if (value.contains("gamma")) spec.gamma = read_number(value["gamma"], in + " gamma");
    } else {
      check_keys(value, {"type", "warmup_steps", "total_steps"}, in, "parameter");
    }
    if (value.contains("warmup_steps")) {
      spec.warmup_steps = read_steps(value["warmup_steps"], in + " warmup_steps");
    }
    if (value.contains("total_steps")) {
      spec.total_steps = read_steps(value["total_steps"], in + " total_steps");
    }
    return spec;  // the type and ranges are checked by validate()
  }

  const Limits& limits_;
};

// The JSON document of a text that passed the structure checks; syntax errors name the source.
json parse_json_text(std::string_view json_text, std::string_view source, const Limits& limits) {
  // Depth and repeated keys first: the document below is only built from text that passed.
  detail::check_json_structure(json_text, source, {.depth = limits.json_depth});
  json document;
  try {
    document = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& error) {
    // nlohmann's message reads "[json.exception.parse_error.101] parse error at line 3, ...":
    // keep the part a person needs and add the byte offset.
    std::string message = error.what();
    if (const auto bracket = message.find("] "); bracket != std::string::npos) {
      message = message.substr(bracket + 2);
    }
    throw std::invalid_argument(std::string(source) + ": invalid JSON: " + shortened(message) +
                                " (byte " + std::to_string(error.byte) + ")");
  } catch (const json::exception& error) {
    // Not a syntax error but a value JSON allows and nlohmann cannot hold (a number beyond
    // double's range: "[json.exception.out_of_range.406] number overflow parsing '1e999'").
    std::string message = error.what();
    if (const auto bracket = message.find("] "); bracket != std::string::npos) {
      message = message.substr(bracket + 2);
    }
    throw std::invalid_argument(std::string(source) + ": invalid JSON: " + shortened(message));
  }
  return document;
}

}  // namespace

ModelDescription parse_model_description(std::string_view json_text, std::string_view source,
                                         const Limits& limits) {
  const json document = parse_json_text(json_text, source, limits);
  ModelDescription description = DescriptionReader(source, limits).read(document);
  detail::validate_description(description, source, limits);
  return description;
}

ModelDescription load_model_description(const std::filesystem::path& path, const Limits& limits) {
  const std::vector<unsigned char> bytes = detail::read_file_bytes(
      path.string(), "model description", limits.file_bytes,
      " (expected a readable JSON file or a preset name: " + detail::preset_list() + ")");
  return parse_model_description(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path.string(),
      limits);
}

OptimizerSpec parse_optimizer_spec(std::string_view json_text, std::string_view source,
                                   const Limits& limits) {
  const json document = parse_json_text(json_text, source, limits);
  OptimizerSpec spec = DescriptionReader(source, limits).read_optimizer_document(document);
  try {
    (void)build_optimizer<float>(spec);  // the type and the values, as validate() checks them
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string(source) + ": " + error.what());
  }
  return spec;
}

void validate(const ModelDescription& description, const Limits& limits) {
  detail::validate_description(description, "model '" + description.name + "'", limits);
}

}  // namespace cnnkit
