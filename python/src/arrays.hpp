// numpy <-> Tensor for the bindings. Inputs are checked (dtype, C-contiguous, rank) and copied once
// into a Tensor, or read in place where the caller only needs a pointer; results leave C++ without
// a copy: the Tensor moves into a capsule that the numpy array keeps as its base.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <bit>
#include <cmath>
#include <cnnkit/tensor.hpp>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace cnnkit::python {

namespace py = pybind11;

// OSError with cnnkit's message (a missing or unreadable file).
struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs a file-reading call, turning cnnkit's std::runtime_error (missing or unreadable file) into
// FileError, which the module translates to OSError; std::invalid_argument (bad contents) stays a
// ValueError.
template <typename Function>
auto reading_files(Function&& function) -> decltype(function()) {
  try {
    return function();
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::runtime_error& error) {
    throw FileError(error.what());
  }
}

template <typename T>
constexpr const char* dtype_name() {
  return sizeof(T) == 4 ? "float32" : "float64";
}

// "(3, 4)": numpy's way of printing a shape, for messages about arrays.
std::string shape_text(const py::array& array);

// The array as T, checked: a float array of exactly T's dtype (TypeError otherwise: cnnkit never
// converts silently, float64 data in a float32 network would be a hidden copy and a hidden
// rounding), C-contiguous (ValueError: a strided or reversed view must be copied by the caller,
// np.ascontiguousarray, so that the one copy is visible), rank within `ranks` when given.
template <typename T>
py::array_t<T> checked_array(const py::handle& object, const std::string& what,
                             std::optional<std::pair<std::size_t, std::size_t>> ranks = {}) {
  if (!py::isinstance<py::array>(object)) {
    throw py::type_error(what + ": expected a numpy array of " + dtype_name<T>() + ", got " +
                         std::string(py::str(py::type::of(object).attr("__name__"))));
  }
  const auto array = py::reinterpret_borrow<py::array>(object);
  if (!array.dtype().is(py::dtype::of<T>())) {
    throw py::type_error(what + ": expected a " + dtype_name<T>() + " array, got " +
                         std::string(py::str(array.dtype())) + " (convert with .astype(numpy." +
                         dtype_name<T>() + "))");
  }
  if (!(array.flags() & py::array::c_style)) {
    throw py::value_error(
        what + ": expected a C-contiguous array, got a strided or reversed view " + "of shape " +
        shape_text(array) + " (copy it with numpy.ascontiguousarray)");
  }
  const auto rank = static_cast<std::size_t>(array.ndim());
  if (ranks && (rank < ranks->first || rank > ranks->second)) {
    const std::string expected =
        ranks->first == ranks->second
            ? std::to_string(ranks->first)
            : std::to_string(ranks->first) + " to " + std::to_string(ranks->second);
    throw py::value_error(what + ": expected an array of rank " + expected + ", got shape " +
                          shape_text(array));
  }
  if (rank == 0 || rank > Shape::kMaxRank) {
    throw py::value_error(what + ": expected an array of rank 1 to " +
                          std::to_string(Shape::kMaxRank) + ", got shape " + shape_text(array));
  }
  return py::reinterpret_borrow<py::array_t<T>>(array);
}

template <typename T>
Shape shape_of(const py::array_t<T>& array) {
  Shape shape;
  for (py::ssize_t axis = 0; axis < array.ndim(); ++axis) {
    shape.push_back(static_cast<std::size_t>(array.shape(axis)));
  }
  return shape;
}

// Whether any value is NaN or infinite (all exponent bits set, as in infinity); with `copy`, the
// values are also copied there in the same pass. An OR of integer tests has no order to keep and
// no early exit, so the compiler vectorises it, where a loop of std::isfinite that stops at the
// first bad value stays scalar: every predict batch and fit's data pass here.
template <typename T>
bool any_non_finite(const T* values, std::size_t count, T* copy = nullptr) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr Bits exponent = std::bit_cast<Bits>(std::numeric_limits<T>::infinity());
  const auto non_finite = [](T value) {
    return static_cast<Bits>((std::bit_cast<Bits>(value) & exponent) == exponent);
  };
  Bits found = 0;
  if (copy == nullptr) {
    for (std::size_t i = 0; i < count; ++i) found |= non_finite(values[i]);
  } else {
    for (std::size_t i = 0; i < count; ++i) found |= non_finite(copy[i] = values[i]);
  }
  return found != 0;
}

// ValueError naming the first sample (index along the first axis) that holds NaN or infinity.
template <typename T>
void require_finite(const T* values, std::size_t count, std::size_t sample_size,
                    const std::string& what, std::size_t first_sample = 0) {
  if (!any_non_finite(values, count)) return;
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) {
      throw py::value_error(what + ": expected finite values, got " + std::to_string(values[i]) +
                            " in sample " +
                            std::to_string(first_sample + (sample_size ? i / sample_size : 0)));
    }
  }
}

// Copies `count` values to `copy` in one pass that also checks them, as require_finite.
template <typename T>
void copy_finite(const T* values, std::size_t count, T* copy, std::size_t sample_size,
                 const std::string& what, std::size_t first_sample) {
  if (any_non_finite(values, count, copy)) {
    require_finite(values, count, sample_size, what, first_sample);
  }
}

// The one copy of an input into a Tensor (made with the GIL held).
template <typename T>
Tensor<T> to_tensor(const py::handle& object, const std::string& what) {
  const py::array_t<T> array = checked_array<T>(object, what);
  Tensor<T> tensor = Tensor<T>::uninitialized(shape_of(array));
  std::copy(array.data(), array.data() + tensor.size(), tensor.data());
  return tensor;
}

// A numpy array over `tensor`'s values, no copy: the tensor moves into a capsule, the array's base.
template <typename T>
py::array_t<T> to_array(Tensor<T>&& tensor) {
  auto owned = std::make_unique<Tensor<T>>(std::move(tensor));
  const std::vector<py::ssize_t> shape(owned->shape().begin(), owned->shape().end());
  T* const data = owned->data();
  py::capsule base(owned.get(), [](void* pointer) {
    const std::unique_ptr<Tensor<T>> release(static_cast<Tensor<T>*>(pointer));
  });
  owned.release();  // the capsule owns it now
  return py::array_t<T>(shape, data, base);
}

// The one copy of `input` into a Tensor, `compute` on it without the GIL, its result as an array:
// the shape of every binding that maps one array to one array.
template <typename T, typename Compute>
py::array_t<T> compute_on_copy(const py::handle& input, const std::string& what,
                               Compute&& compute) {
  Tensor<T> tensor = to_tensor<T>(input, what);
  Tensor<T> result;
  {
    py::gil_scoped_release release;
    result = compute(std::move(tensor));
  }
  return to_array(std::move(result));
}

// A writeable numpy view of a tensor that `owner` (a Python object) keeps alive.
template <typename T>
py::array_t<T> view_of(Tensor<T>& tensor, const py::handle& owner) {
  const std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
  return py::array_t<T>(shape, tensor.data(), owner);
}

// Class indices of an integer array of shape (count,), each below `categories`.
std::vector<std::size_t> class_indices(const py::handle& labels, std::size_t count,
                                       std::size_t categories, const std::string& what);

}  // namespace cnnkit::python
