// ModelDescription -> JSON (reading: model_description.cpp). Only what differs from a default is
// written where older files did not have it, so descriptions without the newer keys come out as
// they were.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "cnnkit/model/model_description.hpp"
#include "cnnkit/schedule.hpp"

namespace cnnkit {

namespace {

// ordered_json keeps the keys in the order written here (type first), which reads better than
// nlohmann's default alphabetical order.
using ordered_json = nlohmann::ordered_json;

ordered_json shape_to_json(const Shape& shape) {
  ordered_json array = ordered_json::array();
  for (const std::size_t extent : shape) array.push_back(extent);
  return array;
}

// "valid", or per axis p (both sides) or [before, after]; read_padding reads it back.
ordered_json padding_to_json(const ConvPadding& padding) {
  if (padding.mode == ConvPadding::Mode::kValid) return "valid";
  if (padding.mode == ConvPadding::Mode::kSame) return "same";
  ordered_json axes = ordered_json::array();
  for (const AxisPadding& axis : padding.sizes) {
    if (axis.before == axis.after) {
      axes.push_back(axis.before);
    } else {
      axes.push_back(ordered_json::array({axis.before, axis.after}));
    }
  }
  return axes;
}

ordered_json initializer_to_json(const InitializerSpec& spec) {
  ordered_json object = {{"type", spec.type}};
  if (spec.type == "Constant") object["value"] = spec.value;
  return object;
}

ordered_json optimizer_to_json(const OptimizerSpec& spec) {
  ordered_json object = {{"type", spec.type}, {"learning_rate", spec.learning_rate}};
  if (spec.type == "Adam" || spec.type == "AdamW") {
    object["mu"] = spec.mu;
    object["rho"] = spec.rho;
    object["epsilon"] = spec.epsilon;
  } else if (spec.type == "SgdWithMomentum") {
    object["momentum"] = spec.momentum;
  }
  for (const auto& [key, value] : spec.attributes) object[key] = value;
  // Only when set: descriptions without weight decay read as before.
  if (spec.weight_decay != 0.0) object["weight_decay"] = spec.weight_decay;
  if (!spec.decay_bias_and_norm) object["decay_bias_and_norm"] = false;
  return object;
}

ordered_json schedule_to_json(const ScheduleSpec& spec) {
  ordered_json object = {{"type", spec.type}};
  if (spec.type == "step") {
    object["step_size"] = spec.step_size;
    object["gamma"] = spec.gamma;
  }
  if (spec.warmup_steps != 0) object["warmup_steps"] = spec.warmup_steps;
  if (spec.total_steps != 0) object["total_steps"] = spec.total_steps;
  return object;
}

ordered_json layer_to_json(const LayerSpec& layer) {
  ordered_json object = {{"type", layer.type}};
  // Only when written: a chain's layers keep their default names and inputs.
  if (!layer.name.empty()) object["name"] = layer.name;
  if (!layer.inputs.empty()) object["inputs"] = layer.inputs;
  if (layer.type == "Conv") {
    object["kernels"] = layer.kernels;
    object["kernel"] = shape_to_json(layer.kernel);
    object["stride"] = shape_to_json(layer.stride);
    // Only what differs from today's convolution: descriptions without the options read and
    // write as before.
    if (layer.padding != ConvPadding::same()) object["padding"] = padding_to_json(layer.padding);
    if (layer.dilation != Shape{1}) object["dilation"] = shape_to_json(layer.dilation);
    if (layer.groups != 1) object["groups"] = layer.groups;
  } else if (layer.type == "Pooling" || layer.type == "AveragePooling") {
    object["window"] = shape_to_json(layer.window);
    object["stride"] = shape_to_json(layer.stride);
  } else if (layer.type == "FullyConnected") {
    object["outputs"] = layer.outputs;
  } else if (layer.type == "LeakyReLU") {
    object["slope"] = layer.slope;
  } else if (layer.type == "Dropout") {
    object["p"] = layer.p;
  } else if (layer.type == "Normalize") {
    object["mean"] = layer.mean;
    object["std"] = layer.standard_deviation;
  } else if (layer.type == "BatchNorm") {
    object["momentum"] = layer.momentum;
    object["epsilon"] = layer.epsilon;
  }
  for (const auto& [key, value] : layer.attributes) object[key] = value;
  return object;
}

}  // namespace

std::string to_json(const ModelDescription& description) {
  ordered_json document;
  document["name"] = description.name;
  document["input_shape"] = shape_to_json(description.input_shape);
  if (!description.classes.empty()) document["classes"] = description.classes;
  ordered_json layers = ordered_json::array();
  for (const LayerSpec& layer : description.layers) layers.push_back(layer_to_json(layer));
  document["layers"] = std::move(layers);
  document["weights_initializer"] = initializer_to_json(description.weights_initializer);
  document["bias_initializer"] = initializer_to_json(description.bias_initializer);
  document["optimizer"] = optimizer_to_json(description.optimizer);
  if (description.schedule != ScheduleSpec{}) {
    document["schedule"] = schedule_to_json(description.schedule);
  }
  if (description.clip_norm != 0.0) document["clip_norm"] = description.clip_norm;
  // The plain string when the reduction is the default: files without reductions stay as they were.
  if (description.loss_reduction == "sum") {
    document["loss"] = description.loss;
  } else {
    document["loss"] = {{"type", description.loss}, {"reduction", description.loss_reduction}};
  }
  return document.dump(2);
}

std::string to_json(const OptimizerSpec& spec) {
  return optimizer_to_json(spec).dump();
}

}  // namespace cnnkit
