// The parts of the _cnnkit extension module, each bound by one function (module.cpp calls them).
// Every class exists for float and double: its Python name ends in _float32 or _float64, and the
// package (cnnkit/__init__.py) picks one by the dtype argument.
#pragma once

#include <pybind11/pybind11.h>

#include <cnnkit/gradient_check.hpp>
#include <cnnkit/layer.hpp>
#include <cnnkit/layers/conv_options.hpp>
#include <memory>
#include <string>

namespace cnnkit::python {

namespace py = pybind11;

// "_float32" or "_float64".
template <typename T>
std::string suffix() {
  return sizeof(T) == 4 ? "_float32" : "_float64";
}

// Shape from a Python int or sequence of non-negative ints (ValueError otherwise).
Shape to_shape(const py::handle& object, const std::string& what);

// Conv's padding from 'same', 'valid', p (both sides of every axis), or per axis p or
// (before, after) (ValueError or TypeError otherwise).
ConvPadding to_conv_padding(const py::handle& object);

// Layer::initialize, keeping every parameter in its buffer (the new values are copied in), so
// numpy views of the weights taken before stay valid and see the new values.
template <typename T>
void initialize_in_place(Layer<T>& layer, Initializer<T>& weights_init, Initializer<T>& bias_init);

// gradient_check's result as {what: largest relative error}.
py::dict errors_dict(const GradientCheckResult& result);

template <typename T>
void bind_layers(py::module_& m);  // layers.cpp: Layer and the built-in layers
template <typename T>
void bind_parts(py::module_& m);  // parts.cpp: initializers, optimizers, losses, gradient_check
template <typename T>
void bind_network(py::module_& m);  // network.cpp: NeuralNetwork and the numpy data layer
template <typename T>
void bind_graph(py::module_& m);            // graph.cpp: Graph, Add and Concat
void bind_model_functions(py::module_& m);  // model.cpp: presets, descriptions
template <typename T>
void bind_model(py::module_& m);     // model.cpp: Model<T>, training, files
void bind_data(py::module_& m);      // data.cpp: the data loaders
void bind_training(py::module_& m);  // training.cpp: schedule, augmentation, communicator

}  // namespace cnnkit::python
