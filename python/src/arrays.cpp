#include "arrays.hpp"

namespace cnnkit::python {

std::string shape_text(const py::array& array) {
  std::string text = "(";
  for (py::ssize_t axis = 0; axis < array.ndim(); ++axis) {
    text += (axis ? ", " : "") + std::to_string(array.shape(axis));
  }
  return text + (array.ndim() == 1 ? ",)" : ")");
}

std::vector<std::size_t> class_indices(const py::handle& labels, std::size_t count,
                                       std::size_t categories, const std::string& what) {
  if (!py::isinstance<py::array>(labels)) {
    throw py::type_error(what + ": expected a numpy array of integer class indices, got " +
                         std::string(py::str(py::type::of(labels).attr("__name__"))));
  }
  const auto array = py::reinterpret_borrow<py::array>(labels);
  if (array.dtype().kind() != 'i' && array.dtype().kind() != 'u') {
    throw py::type_error(what + ": expected integer class indices, got a " +
                         std::string(py::str(array.dtype())) + " array");
  }
  if (array.ndim() != 1 || static_cast<std::size_t>(array.shape(0)) != count) {
    throw py::value_error(what + ": expected shape (" + std::to_string(count) +
                          ",), one class index per sample, got " + shape_text(array));
  }
  // Any integer dtype and any strides: one small conversion, then range checks.
  const auto indices = py::array_t<long long, py::array::c_style | py::array::forcecast>(array);
  std::vector<std::size_t> result(count);
  for (std::size_t n = 0; n < count; ++n) {
    const long long label = indices.data()[n];
    if (label < 0 || static_cast<unsigned long long>(label) >= categories) {
      throw py::value_error(what + ": expected class indices in [0, " + std::to_string(categories) +
                            "), got " + std::to_string(label) + " at position " +
                            std::to_string(n));
    }
    result[n] = static_cast<std::size_t>(label);
  }
  return result;
}

}  // namespace cnnkit::python
