// Layer and the built-in layers. Python holds layers by shared_ptr, so that a layer appended to a
// NeuralNetwork stays usable from Python (its weights, its gradients): the network gets a
// SharedLayer that forwards every call to it (network.cpp).
#include <pybind11/stl.h>

#include <cnnkit/layers/average_pooling.hpp>
#include <cnnkit/layers/batch_norm.hpp>
#include <cnnkit/layers/conv.hpp>
#include <cnnkit/layers/dropout.hpp>
#include <cnnkit/layers/flatten.hpp>
#include <cnnkit/layers/fully_connected.hpp>
#include <cnnkit/layers/leaky_relu.hpp>
#include <cnnkit/layers/pooling.hpp>
#include <cnnkit/layers/relu.hpp>
#include <cnnkit/layers/sigmoid.hpp>
#include <cnnkit/layers/softmax.hpp>
#include <cnnkit/layers/tanh.hpp>

#include "arrays.hpp"
#include "bind.hpp"
#include "python_layer.hpp"

namespace cnnkit::python {

Shape to_shape(const py::handle& object, const std::string& what) {
  std::vector<py::object> items;
  if (py::isinstance<py::int_>(object)) {
    items.push_back(py::reinterpret_borrow<py::object>(object));
  } else if (py::isinstance<py::sequence>(object) && !py::isinstance<py::str>(object)) {
    for (const auto item : py::reinterpret_borrow<py::sequence>(object)) {
      items.push_back(py::reinterpret_borrow<py::object>(item));
    }
  } else {
    throw py::type_error(what + ": expected an int or a sequence of ints, got " +
                         std::string(py::str(py::type::of(object).attr("__name__"))));
  }
  Shape shape;
  for (const py::object& item : items) {
    if (!py::isinstance<py::int_>(item) && !py::hasattr(item, "__index__")) {
      throw py::type_error(what + ": expected ints, got " + std::string(py::repr(item)));
    }
    const auto value = py::int_(item).cast<long long>();
    if (value < 0) {
      throw py::value_error(what + ": expected extents >= 0, got " + std::to_string(value));
    }
    shape.push_back(static_cast<std::size_t>(value));
  }
  return shape;
}

ConvPadding to_conv_padding(const py::handle& object) {
  if (py::isinstance<py::str>(object)) {
    const auto mode = object.cast<std::string>();
    if (mode == "same") return ConvPadding::same();
    if (mode == "valid") return ConvPadding::valid();
    throw py::value_error(
        "Conv padding: expected 'same', 'valid', p, or per axis p or (before, "
        "after), got '" +
        mode + "'");
  }
  if (py::isinstance<py::int_>(object)) {
    const Shape p = to_shape(object, "Conv padding");
    return ConvPadding::symmetric(p[0]);
  }
  if (!py::isinstance<py::sequence>(object)) {
    throw py::type_error("Conv padding: expected 'same', 'valid', an int or a sequence, got " +
                         std::string(py::str(py::type::of(object).attr("__name__"))));
  }
  std::vector<AxisPadding> sizes;
  for (const auto axis : py::reinterpret_borrow<py::sequence>(object)) {
    const Shape pads = to_shape(axis, "Conv padding");
    if (pads.size() != 1 && pads.size() != 2) {
      throw py::value_error("Conv padding: expected p or (before, after) per axis, got " +
                            std::string(py::repr(axis)));
    }
    sizes.push_back({pads[0], pads.back()});
  }
  return ConvPadding::explicit_sizes(std::move(sizes));
}

template <typename T>
void initialize_in_place(Layer<T>& layer, Initializer<T>& weights_init, Initializer<T>& bias_init) {
  const std::vector<Parameter<T>*> parameters = layer.parameters();
  std::vector<Tensor<T>> kept;  // the buffers numpy views may point into
  for (Parameter<T>* parameter : parameters) {
    kept.push_back(std::move(parameter->value));
    parameter->value = kept.back();  // a copy for initialize() to replace
  }
  layer.initialize(weights_init, bias_init);
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    Tensor<T>& value = parameters[i]->value;
    if (value.shape() == kept[i].shape()) {
      std::copy(value.begin(), value.end(), kept[i].begin());
      value = std::move(kept[i]);
    }
  }
}

namespace {

// State the layer owns and updates itself (BatchNorm's running statistics): a view that keeps the
// layer alive and that numpy refuses to write to.
template <typename T>
py::array_t<T> read_only_view(const Tensor<T>& tensor, const py::handle& owner) {
  py::array_t<T> view = view_of(const_cast<Tensor<T>&>(tensor), owner);
  view.attr("setflags")(py::arg("write") = false);
  return view;
}

template <typename T>
Parameter<T>* find_parameter(Layer<T>& layer, const std::string& name) {
  for (Parameter<T>* parameter : layer.parameters()) {
    if (parameter->name == name) return parameter;
  }
  return nullptr;
}

// The value or gradient of the parameter `name` as a view that keeps the layer alive.
template <typename T>
py::array_t<T> parameter_view(const py::object& self, const std::string& name, bool gradient) {
  Layer<T>& layer = self.cast<Layer<T>&>();
  Parameter<T>* parameter = find_parameter(layer, name);
  if (!parameter) {
    throw py::key_error(layer.type() + ": expected the name of a parameter, got '" + name + "'");
  }
  return view_of(gradient ? parameter->gradient : parameter->value, self);
}

// weights, bias and their gradients as properties: a writeable view that keeps the layer alive
// (None for a layer without that parameter); assignment copies into the parameter's buffer.
template <typename T, typename Class>
void bind_parameter_views(Class& layer_class, const std::string& name) {
  const auto view = [name](bool gradient) {
    return [name, gradient](const py::object& self) -> py::object {
      Parameter<T>* parameter = find_parameter(self.cast<Layer<T>&>(), name);
      if (!parameter) return py::none();
      return view_of(gradient ? parameter->gradient : parameter->value, self);
    };
  };
  const auto assign = [name](const py::object& self, const py::object& values) {
    Layer<T>& layer = self.cast<Layer<T>&>();
    Parameter<T>* parameter = find_parameter(layer, name);
    if (!parameter) {
      throw py::value_error(layer.type() + ": expected a layer with " + name + ", got none");
    }
    const py::array_t<T> array = checked_array<T>(values, layer.type() + "." + name);
    if (shape_of(array) != parameter->value.shape()) {
      throw py::value_error(layer.type() + "." + name + ": expected shape " +
                            to_string(parameter->value.shape()) + ", got " + shape_text(array));
    }
    std::copy(array.data(), array.data() + parameter->value.size(), parameter->value.begin());
  };
  layer_class.def_property(
      name.c_str(), view(false), assign,
      ("The layer's " + name +
       " as a numpy view (None where the layer has none). The view shares "
       "the layer's memory and keeps the layer alive; it stays valid when the layer is "
       "re-initialised and while the optimizer updates it. Assigning copies the values in.")
          .c_str());
  const std::string gradient_name = "gradient_" + name;
  layer_class.def_property_readonly(
      gradient_name.c_str(), view(true),
      ("dLoss/d" + name + " from the last backward(), as a numpy view that keeps the layer alive.")
          .c_str());
}

}  // namespace

template <typename T>
void bind_layers(py::module_& m) {
  using LayerT = Layer<T>;
  py::class_<LayerT, PythonLayer<T>, std::shared_ptr<LayerT>> layer(
      m, ("Layer" + suffix<T>()).c_str(),
      "The base of every layer: forward, backward, trainable parameters. A Python subclass "
      "(cnnkit.Layer) writes forward and backward on numpy arrays.");
  layer.def(py::init<>(), "A layer written in Python: subclass cnnkit.Layer instead.")
      .def(
          "add_parameter",
          [](LayerT& self, const std::string& name, const py::object& initial) {
            auto* python_layer = dynamic_cast<PythonLayer<T>*>(&self);
            if (!python_layer) {
              throw py::type_error(self.type() +
                                   ".add_parameter: expected a layer written in Python, got a "
                                   "built-in one");
            }
            python_layer->add_parameter(name,
                                        to_tensor<T>(initial, self.type() + ".add_parameter"));
          },
          py::arg("name"), py::arg("initial"),
          "A layer written in Python registers a trainable tensor (a copy of `initial`). It is "
          "then a view as self.<name> for 'weights', 'bias', 'scale' or 'shift' and as "
          "self.parameter(name) for any name, its gradient as self.gradient(name): backward() "
          "assigns the gradient (gradient[...] = ...); the layer's optimizer then updates the "
          "tensor, gradient_check checks it and networks initialize it (initialize()).")
      .def(
          "parameter",
          [](const py::object& self, const std::string& name) {
            return parameter_view<T>(self, name, false);
          },
          py::arg("name"), "The trainable tensor `name` as a numpy view (KeyError if none).")
      .def(
          "gradient",
          [](const py::object& self, const std::string& name) {
            return parameter_view<T>(self, name, true);
          },
          py::arg("name"), "dLoss/d`name` from the last backward(), a numpy view.")
      .def(
          "forward",
          [](LayerT& self, const py::object& input) {
            return compute_on_copy<T>(input, self.type() + ".forward",
                                      [&](Tensor<T>&& x) { return self.forward(std::move(x)); });
          },
          py::arg("input"),
          "The output for a batch (batch, ...). In the training phase the layer keeps what "
          "backward() needs. The input is copied once; the result is a new array.")
      .def(
          "backward",
          [](LayerT& self, const py::object& error_tensor) {
            return compute_on_copy<T>(error_tensor, self.type() + ".backward",
                                      [&](Tensor<T>&& e) { return self.backward(std::move(e)); });
          },
          py::arg("error_tensor"),
          "dLoss/dInput for dLoss/dOutput (shaped like the last output); fills the gradients and "
          "lets each parameter's optimizer update it. Needs a training-phase forward() first.")
      .def_property_readonly("type", &LayerT::type, "Short type name: 'Conv', 'ReLU', ...")
      .def(
          "output_shape",
          [](const LayerT& self, const py::object& input_shape) {
            const Shape shape =
                self.output_shape(to_shape(input_shape, self.type() + ".output_shape"));
            return py::tuple(py::cast(std::vector<std::size_t>(shape.begin(), shape.end())));
          },
          py::arg("input_shape"), "The shape forward() returns for an input of this shape.")
      .def_property_readonly("trainable", &LayerT::trainable, "Whether the layer has parameters.")
      .def_property_readonly("parameter_count", &LayerT::parameter_count,
                             "Number of trainable values.")
      .def(
          "initialize",
          [](LayerT& self, Initializer<T>& weights_init, Initializer<T>& bias_init) {
            initialize_in_place(self, weights_init, bias_init);
          },
          py::arg("weights_initializer"), py::arg("bias_initializer"),
          "Fills weights and bias from the two initializers (with the layer's fan_in, fan_out). "
          "Numpy views of the weights stay valid and show the new values.")
      .def("set_optimizer", &LayerT::set_optimizer, py::arg("optimizer"),
           "Gives every parameter its own copy of the optimizer; backward() then updates them.")
      .def_property(
          "frozen",
          [](LayerT& self) {
            const auto parameters = self.parameters();
            return !parameters.empty() && parameters.front()->frozen;
          },
          &LayerT::set_frozen, "A frozen layer passes errors down but never changes its weights.")
      .def_property("testing_phase", &LayerT::testing_phase, &LayerT::set_testing_phase,
                    "Inference: forward() keeps nothing for backward().")
      .def_property("input_error_needed", &LayerT::input_error_needed,
                    &LayerT::set_input_error_needed,
                    "Whether backward() must compute the error for the layer below.")
      .def("__repr__", [](const LayerT& self) { return "<cnnkit." + self.type() + ">"; });
  bind_parameter_views<T>(layer, "weights");
  bind_parameter_views<T>(layer, "bias");
  bind_parameter_views<T>(layer, "scale");  // BatchNorm's gamma
  bind_parameter_views<T>(layer, "shift");  // BatchNorm's beta

  py::class_<Conv<T>, LayerT, std::shared_ptr<Conv<T>>>(
      m, ("Conv" + suffix<T>()).c_str(),
      "Multi-channel cross-correlation, 1-D or 2-D: padding ('same' by default, 'valid' or "
      "explicit), dilation and groups as PyTorch's Conv1d/Conv2d, then the stride.")
      .def(
          py::init([](const py::object& stride, const py::object& convolution, std::size_t kernels,
                      const py::object& padding, const py::object& dilation, std::size_t groups) {
            return std::make_shared<Conv<T>>(
                to_shape(stride, "Conv stride_shape"),
                to_shape(convolution, "Conv convolution_shape"), kernels,
                ConvOptions{to_conv_padding(padding), to_shape(dilation, "Conv dilation"), groups});
          }),
          py::arg("stride_shape"), py::arg("convolution_shape"), py::arg("num_kernels"),
          py::arg("padding") = "same", py::arg("dilation") = 1, py::arg("groups") = 1)
      .def_property_readonly("num_kernels", &Conv<T>::num_kernels,
                             "The number of kernels: the output channels.")
      .def_property_readonly(
          "padding", [](const Conv<T>& self) { return to_string(self.options().padding); },
          "The padding as text: 'same', 'valid' or the sizes per axis.")
      .def_property_readonly(
          "dilation",
          [](const Conv<T>& self) {
            const Shape& d = self.options().dilation;
            return py::tuple(py::cast(std::vector<std::size_t>(d.begin(), d.end())));
          },
          "The spacing of the kernel's taps, (d,) for every axis or (dy, dx).")
      .def_property_readonly(
          "groups", [](const Conv<T>& self) { return self.options().groups; },
          "Channel groups: kernel slice g sees channel slice g only (channels: depthwise).");
  py::class_<Pooling<T>, LayerT, std::shared_ptr<Pooling<T>>>(m, ("Pooling" + suffix<T>()).c_str(),
                                                              "2-D max pooling without padding.")
      .def(py::init([](const py::object& stride, const py::object& pooling) {
             return std::make_shared<Pooling<T>>(to_shape(stride, "Pooling stride_shape"),
                                                 to_shape(pooling, "Pooling pooling_shape"));
           }),
           py::arg("stride_shape"), py::arg("pooling_shape"));
  py::class_<FullyConnected<T>, LayerT, std::shared_ptr<FullyConnected<T>>>(
      m, ("FullyConnected" + suffix<T>()).c_str(),
      "y = x W + b; weights (input_size, output_size), bias (1, output_size).")
      .def(py::init<std::size_t, std::size_t>(), py::arg("input_size"), py::arg("output_size"))
      .def_property_readonly("input_size", &FullyConnected<T>::input_size,
                             "Features per input sample.")
      .def_property_readonly("output_size", &FullyConnected<T>::output_size,
                             "Features per output sample.")
      .def(
          "weights_with_bias",
          [](const FullyConnected<T>& self) { return to_array(self.weights()); },
          "The lecture's (input_size + 1, output_size) matrix, bias as last row (a copy).");
  py::class_<Flatten<T>, LayerT, std::shared_ptr<Flatten<T>>>(
      m, ("Flatten" + suffix<T>()).c_str(), "(batch, d1, d2, ...) -> (batch, d1*d2*...).")
      .def(py::init<>());
  py::class_<ReLU<T>, LayerT, std::shared_ptr<ReLU<T>>>(m, ("ReLU" + suffix<T>()).c_str(),
                                                        "y = max(0, x).")
      .def(py::init<>());
  py::class_<SoftMax<T>, LayerT, std::shared_ptr<SoftMax<T>>>(
      m, ("SoftMax" + suffix<T>()).c_str(), "SoftMax over the last axis of (batch, categories).")
      .def(py::init<>());
  py::class_<Sigmoid<T>, LayerT, std::shared_ptr<Sigmoid<T>>>(m, ("Sigmoid" + suffix<T>()).c_str(),
                                                              "y = 1 / (1 + exp(-x)).")
      .def(py::init<>());
  py::class_<TanH<T>, LayerT, std::shared_ptr<TanH<T>>>(m, ("TanH" + suffix<T>()).c_str(),
                                                        "y = tanh(x).")
      .def(py::init<>());
  py::class_<LeakyReLU<T>, LayerT, std::shared_ptr<LeakyReLU<T>>>(
      m, ("LeakyReLU" + suffix<T>()).c_str(), "y = x for x > 0, slope * x otherwise.")
      .def(py::init<T>(), py::arg("slope") = T(0.01));
  py::class_<Dropout<T>, LayerT, std::shared_ptr<Dropout<T>>>(
      m, ("Dropout" + suffix<T>()).c_str(),
      "Inverted dropout: in the training phase each element is kept with probability 1 - p and "
      "scaled by 1 / (1 - p), else zeroed; the identity in the testing phase.")
      .def(py::init<double>(), py::arg("p") = 0.5)
      .def_property_readonly("p", &Dropout<T>::probability,
                             "The probability of dropping an element, in [0, 1).");
  py::class_<AveragePooling<T>, LayerT, std::shared_ptr<AveragePooling<T>>>(
      m, ("AveragePooling" + suffix<T>()).c_str(), "1-D or 2-D average pooling without padding.")
      .def(py::init([](const py::object& stride, const py::object& pooling) {
             return std::make_shared<AveragePooling<T>>(
                 to_shape(stride, "AveragePooling stride_shape"),
                 to_shape(pooling, "AveragePooling pooling_shape"));
           }),
           py::arg("stride_shape"), py::arg("pooling_shape"));
  py::class_<GlobalAveragePooling<T>, LayerT, std::shared_ptr<GlobalAveragePooling<T>>>(
      m, ("GlobalAveragePooling" + suffix<T>()).c_str(), "(batch, c, ...) -> (batch, c): means.")
      .def(py::init<>());
  py::class_<BatchNorm<T>, LayerT, std::shared_ptr<BatchNorm<T>>>(
      m, ("BatchNorm" + suffix<T>()).c_str(),
      "Batch normalisation per channel of (batch, c, ...) or per feature of (batch, f).")
      .def(py::init<std::size_t, double, double>(), py::arg("channels"), py::arg("momentum") = 0.1,
           py::arg("epsilon") = 1e-5)
      .def_property_readonly("channels", &BatchNorm<T>::channels,
                             "Channels (or features) normalised, each with its own statistics.")
      .def_property_readonly("momentum", &BatchNorm<T>::momentum,
                             "The running statistics' update weight (PyTorch's meaning).")
      .def_property_readonly("epsilon", &BatchNorm<T>::epsilon,
                             "Added to the variance before its root.")
      .def_property_readonly(
          "running_mean",
          [](const py::object& self) {
            return read_only_view(self.cast<BatchNorm<T>&>().running_mean(), self);
          },
          "The running mean the testing phase uses, a read-only view.")
      .def_property_readonly(
          "running_var",
          [](const py::object& self) {
            return read_only_view(self.cast<BatchNorm<T>&>().running_var(), self);
          },
          "The running (unbiased) variance the testing phase uses, a read-only view.");
}

template void initialize_in_place<float>(Layer<float>&, Initializer<float>&, Initializer<float>&);
template void initialize_in_place<double>(Layer<double>&, Initializer<double>&,
                                          Initializer<double>&);
template void bind_layers<float>(py::module_&);
template void bind_layers<double>(py::module_&);

}  // namespace cnnkit::python
