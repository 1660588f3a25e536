// A trainable tensor of a layer together with its gradient and its own optimizer copy
// (lecture: "Make the bias and weights of every layer have a copy of the optimizer").
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "cnnkit/optimizers.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

// What a parameter is, for settings that treat kinds differently: weight decay leaves biases and
// normalisation parameters out on request, as PyTorch recipes commonly do.
enum class ParameterKind {
  kWeights,        // weights of a Conv or FullyConnected, and any user parameter by default
  kBias,           // a bias
  kNormalization,  // the scale and shift of a normalisation layer (BatchNorm)
};

template <typename T>
struct Parameter {
  // The kind follows the name ("bias" is a bias, anything else weights) unless given.
  Parameter(std::string parameter_name, Tensor<T> initial_value)
      : Parameter(parameter_name, std::move(initial_value),
                  parameter_name == "bias" ? ParameterKind::kBias : ParameterKind::kWeights) {}
  Parameter(std::string parameter_name, Tensor<T> initial_value, ParameterKind parameter_kind)
      : name(std::move(parameter_name)),
        kind(parameter_kind),
        value(std::move(initial_value)),
        gradient(value.shape()) {}

  std::string name;  // "weights" or "bias"
  ParameterKind kind;
  Tensor<T> value;
  Tensor<T> gradient;                       // written by the layer's backward()
  std::unique_ptr<Optimizer<T>> optimizer;  // none: gradients are computed, value stays
  bool frozen = false;                      // a frozen parameter is never updated

  void set_optimizer(const Optimizer<T>& prototype) { optimizer = prototype.clone(); }

  // Called by backward() once the gradient is complete.
  void apply_update() {
    if (optimizer && !frozen) optimizer->update(value, gradient);
  }
};

}  // namespace cnnkit
