#include "python_layer.hpp"

#include <pybind11/stl.h>

#include <stdexcept>

#include "arrays.hpp"
#include "bind.hpp"

namespace cnnkit::python {

template <typename T>
py::object PythonLayer<T>::method(const char* name) const {
  const py::object self =
      py::cast(static_cast<const Layer<T>*>(this), py::return_value_policy::reference);
  py::object function = py::getattr(self, ("_python_" + std::string(name)).c_str(), py::none());
  if (function.is_none()) {
    throw std::logic_error(type() + ": expected a method " + name +
                           "(self, array) in the Python layer, got none");
  }
  return function;
}

template <typename T>
Tensor<T> PythonLayer<T>::result_of(const py::object& result, const std::string& what) const {
  if (!py::isinstance<py::array>(result)) {
    throw py::type_error(what + ": expected the method to return a numpy array of " +
                         dtype_name<T>() + ", got " +
                         std::string(py::str(py::type::of(result).attr("__name__"))));
  }
  // The one copy into a tensor happens anyway: a strided result (x[:, :1]) is welcome too.
  return to_tensor<T>(py::module_::import("numpy").attr("ascontiguousarray")(result),
                      what + " result");
}

template <typename T>
Tensor<T> PythonLayer<T>::forward(const Tensor<T>& input) {
  const py::gil_scoped_acquire acquire;
  const std::string what = type() + ".forward";
  // A copy the subclass may keep for backward() (self.input = input).
  Tensor<T> output = result_of(method("forward")(to_array(Tensor<T>(input))), what);
  const Shape expected = output_shape(input.shape());
  if (output.shape() != expected) {
    throw std::invalid_argument(what + ": expected a result of shape " + to_string(expected) +
                                " for an input of shape " + to_string(input.shape()) + ", got " +
                                to_string(output.shape()) +
                                " (a layer that changes the shape defines output_shape)");
  }
  input_shape_ = input.shape();
  output_shape_ = output.shape();
  this->note_forward();
  return output;
}

template <typename T>
Tensor<T> PythonLayer<T>::backward(const Tensor<T>& error_tensor) {
  const py::gil_scoped_acquire acquire;
  const std::string what = type() + ".backward";
  this->require_fresh_forward();
  if (error_tensor.shape() != output_shape_) {
    throw std::invalid_argument(what + ": expected an error tensor of the last output's shape " +
                                to_string(output_shape_) + ", got " +
                                to_string(error_tensor.shape()));
  }
  Tensor<T> input_error = result_of(method("backward")(to_array(Tensor<T>(error_tensor))), what);
  if (input_error.shape() != input_shape_) {
    throw std::invalid_argument(what + ": expected a result of the last input's shape " +
                                to_string(input_shape_) + ", got " +
                                to_string(input_error.shape()));
  }
  this->note_backward();
  this->apply_updates();
  return input_error;
}

template <typename T>
std::string PythonLayer<T>::type() const {
  const py::gil_scoped_acquire acquire;
  const py::object self =
      py::cast(static_cast<const Layer<T>*>(this), py::return_value_policy::reference);
  return py::str(py::type::of(self).attr("__name__"));
}

template <typename T>
Shape PythonLayer<T>::output_shape(const Shape& input_shape) const {
  const py::gil_scoped_acquire acquire;
  const py::function function =
      py::get_override(static_cast<const Layer<T>*>(this), "output_shape");
  if (!function) return input_shape;
  const py::object shape = function(
      py::tuple(py::cast(std::vector<std::size_t>(input_shape.begin(), input_shape.end()))));
  return to_shape(shape, type() + ".output_shape result");
}

template <typename T>
std::vector<Parameter<T>*> PythonLayer<T>::parameters() {
  std::vector<Parameter<T>*> result;
  for (Parameter<T>& parameter : parameters_) result.push_back(&parameter);
  return result;
}

template <typename T>
void PythonLayer<T>::initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) {
  const py::gil_scoped_acquire acquire;
  const py::function function = py::get_override(static_cast<const Layer<T>*>(this), "initialize");
  if (function) {
    function(py::cast(&weights_init, py::return_value_policy::reference),
             py::cast(&bias_init, py::return_value_policy::reference));
  }
}

template <typename T>
void PythonLayer<T>::add_parameter(const std::string& name, Tensor<T>&& initial) {
  for (const Parameter<T>& parameter : parameters_) {
    if (parameter.name == name) {
      throw std::invalid_argument(type() + ".add_parameter: expected a new name, got '" + name +
                                  "' a second time");
    }
  }
  parameters_.emplace_back(name, std::move(initial));
}

template class PythonLayer<float>;
template class PythonLayer<double>;

}  // namespace cnnkit::python
