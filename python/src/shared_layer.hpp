// SharedLayer: what a network or graph built from Python holds for a layer Python keeps hold of. It
// forwards every call to that layer, so the layer's weights and gradients stay reachable from
// Python while the network trains it.
#pragma once

#include <pybind11/pybind11.h>

#include <cnnkit/layer.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bind.hpp"

namespace cnnkit::python {

template <typename T>
class SharedLayer final : public Layer<T> {
 public:
  // `owner` is the Python object of the layer: a layer written in Python lives in it (its methods,
  // its attributes), so the network keeps it alive as long as it holds the layer.
  SharedLayer(std::shared_ptr<Layer<T>> inner, py::object owner)
      : inner_(std::move(inner)), owner_(std::move(owner)) {}
  SharedLayer(const SharedLayer&) = delete;
  SharedLayer& operator=(const SharedLayer&) = delete;
  ~SharedLayer() override {
    const py::gil_scoped_acquire acquire;  // a network may be destroyed without the GIL
    owner_ = py::object();
  }

  const std::shared_ptr<Layer<T>>& inner() const { return inner_; }

  Tensor<T> forward(const Tensor<T>& input) override {
    const Settings settings(*this);
    return inner_->forward(input);
  }
  Tensor<T> backward(const Tensor<T>& error_tensor) override {
    const Settings settings(*this);
    return inner_->backward(error_tensor);
  }
  std::string type() const override { return inner_->type(); }
  Shape output_shape(const Shape& input_shape) const override {
    return inner_->output_shape(input_shape);
  }
  std::size_t forward_flops(const Shape& input_shape) const override {
    return inner_->forward_flops(input_shape);
  }
  std::vector<Parameter<T>*> parameters() override { return inner_->parameters(); }
  std::vector<LayerBuffer<T>> buffers() override { return inner_->buffers(); }
  void initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) override {
    initialize_in_place(*inner_, weights_init, bias_init);
  }

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override {
    const Settings settings(*this);
    return inner_->forward(std::move(input));
  }
  Tensor<T> backward_handed_over(Tensor<T>&& error_tensor) override {
    const Settings settings(*this);
    return inner_->backward(std::move(error_tensor));
  }

 private:
  // The network sets the phase, the input-error flag and whether its engine runs the optimizers
  // (deferred updates) on the layers it holds: this one. The inner layer takes them for one call
  // and then gets its own back, so used alone from Python it is the lecture's layer again (its
  // backward() computes the input error and updates its weights).
  class Settings {
   public:
    explicit Settings(const SharedLayer& outer)
        : inner_(*outer.inner_),
          testing_(inner_.testing_phase()),
          input_error_needed_(inner_.input_error_needed()),
          updates_deferred_(inner_.updates_deferred()) {
      inner_.set_testing_phase(outer.testing_phase());
      inner_.set_input_error_needed(outer.input_error_needed());
      inner_.set_updates_deferred(outer.updates_deferred());
    }
    Settings(const Settings&) = delete;
    Settings& operator=(const Settings&) = delete;
    ~Settings() {
      inner_.set_testing_phase(testing_);
      inner_.set_input_error_needed(input_error_needed_);
      inner_.set_updates_deferred(updates_deferred_);
    }

   private:
    Layer<T>& inner_;
    bool testing_;
    bool input_error_needed_;
    bool updates_deferred_;
  };

  std::shared_ptr<Layer<T>> inner_;
  py::object owner_;
};

// The SharedLayer for a Python layer object (TypeError for anything else).
template <typename T>
std::unique_ptr<SharedLayer<T>> share(const py::object& layer, const std::string& what) {
  if (layer.is_none() || !py::isinstance<Layer<T>>(layer)) {
    throw py::type_error(what + ": expected a cnnkit layer of dtype " +
                         std::string(sizeof(T) == 4 ? "float32" : "float64") + ", got " +
                         std::string(py::str(py::type::of(layer).attr("__name__"))));
  }
  return std::make_unique<SharedLayer<T>>(layer.cast<std::shared_ptr<Layer<T>>>(), layer);
}

}  // namespace cnnkit::python
