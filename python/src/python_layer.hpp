// PythonLayer: the C++ side of a layer written in Python (a subclass of cnnkit.Layer). Its forward
// and backward call the subclass's methods on numpy arrays (taking the GIL), check what comes back,
// and keep the layer contract (layer.hpp): the calls' order, and the update of the parameters the
// subclass registered with add_parameter at the end of backward(). Calls from Python go this way
// too (cnnkit.Layer's forward and backward), so a layer behaves alike alone and in a network.
#pragma once

#include <pybind11/pybind11.h>

#include <cnnkit/layer.hpp>
#include <deque>
#include <string>
#include <vector>

namespace cnnkit::python {

namespace py = pybind11;

template <typename T>
class PythonLayer : public Layer<T> {
 public:
  using Layer<T>::forward;
  using Layer<T>::backward;

  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;
  // The subclass's class name.
  std::string type() const override;
  // The subclass's output_shape(input_shape) if it has one, else the input shape.
  Shape output_shape(const Shape& input_shape) const override;
  std::vector<Parameter<T>*> parameters() override;
  // The subclass's initialize(weights_initializer, bias_initializer) if it has one; else the
  // parameters keep the values add_parameter gave them.
  void initialize(Initializer<T>& weights_init, Initializer<T>& bias_init) override;

  // A trainable tensor (a copy of `initial`), with a gradient of its shape for backward() to fill.
  void add_parameter(const std::string& name, Tensor<T>&& initial);

 private:
  // The subclass's forward or backward, which cnnkit.Layer's metaclass keeps as _python_forward
  // and _python_backward (RuntimeError naming the class when it has none).
  py::object method(const char* name) const;
  // The array a method returned, as a tensor ("Square.forward: expected ...").
  Tensor<T> result_of(const py::object& result, const std::string& what) const;

  std::deque<Parameter<T>> parameters_;  // a deque: the Parameter addresses stay put
  Shape input_shape_;                    // of the last forward(), which backward() returns
  Shape output_shape_;                   // of the last forward(), which the error must have
};

extern template class PythonLayer<float>;
extern template class PythonLayer<double>;

}  // namespace cnnkit::python
