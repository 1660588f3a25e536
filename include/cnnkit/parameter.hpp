// A trainable tensor of a layer together with its gradient and its own optimizer copy
// (lecture: "Make the bias and weights of every layer have a copy of the optimizer").
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "cnnkit/optimizers.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
struct Parameter {
  Parameter(std::string parameter_name, Tensor<T> initial_value)
      : name(std::move(parameter_name)), value(std::move(initial_value)), gradient(value.shape()) {}

  std::string name;  // "weights" or "bias"
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
