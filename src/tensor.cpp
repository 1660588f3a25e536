#include "cnnkit/tensor.hpp"

#include <algorithm>
#include <limits>
#include <sstream>
#include <utility>

namespace cnnkit {

namespace {

std::string extents_to_string(const std::size_t* extents, std::size_t rank) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < rank; ++i) out << (i ? ", " : "") << extents[i];
  out << ']';
  return out.str();
}

// The element count of a tensor of this shape, checked to fit in memory's addresses as bytes of T
// (the vector would otherwise throw a length_error that names no shape).
template <typename T, typename Storage>
std::size_t checked_element_count(const Shape& shape) {
  const std::size_t count = element_count(shape);
  const std::size_t most = Storage().max_size();
  if (count > most) {
    throw std::overflow_error("Tensor: expected at most " + std::to_string(most) + " elements of " +
                              std::to_string(sizeof(T)) + " bytes, got shape " + to_string(shape) +
                              " with " + std::to_string(count));
  }
  return count;
}

}  // namespace

std::string to_string(const Shape& shape) {
  return extents_to_string(shape.begin(), shape.size());
}

std::string to_string(const std::vector<std::size_t>& extents) {
  return extents_to_string(extents.data(), extents.size());
}

std::size_t element_count(const Shape& shape) {
  // An axis of extent 0 makes the product 0 whatever the others are: no overflow then.
  if (std::find(shape.begin(), shape.end(), std::size_t{0}) != shape.end()) return 0;
  std::size_t count = 1;
  for (const std::size_t extent : shape) {
    if (__builtin_mul_overflow(count, extent, &count)) {
      throw std::overflow_error(
          "Shape: expected extents whose product fits in std::size_t (at "
          "most " +
          std::to_string(std::numeric_limits<std::size_t>::max()) + "), got " + to_string(shape));
    }
  }
  return count;
}

template <typename T>
Tensor<T>::Tensor(Shape shape) : Tensor(std::move(shape), T{0}) {}

template <typename T>
Tensor<T>::Tensor(Shape shape, T fill)
    : shape_(std::move(shape)), values_(checked_element_count<T, Storage>(shape_), fill) {}

template <typename T>
Tensor<T>::Tensor(Shape shape, std::vector<T> values)
    : Tensor(from_storage(std::move(shape), Storage(values.begin(), values.end()))) {}

template <typename T>
Tensor<T> Tensor<T>::from_storage(Shape shape, Storage values) {
  if (values.size() != element_count(shape)) {
    throw std::invalid_argument("Tensor: expected " + std::to_string(element_count(shape)) +
                                " values for shape " + to_string(shape) + ", got " +
                                std::to_string(values.size()));
  }
  Tensor tensor;
  tensor.shape_ = std::move(shape);
  tensor.values_ = std::move(values);
  return tensor;
}

template <typename T>
Tensor<T> Tensor<T>::uninitialized(Shape shape) {
  Tensor tensor;
  tensor.values_.resize(
      checked_element_count<T, Storage>(shape));  // default-initialised: no fill (NoFillAllocator)
  tensor.shape_ = std::move(shape);
  return tensor;
}

template <typename T>
Tensor<T> Tensor<T>::uninitialized(Shape shape, Tensor&& recycled) {
  Tensor tensor;
  tensor.values_ = std::move(recycled.values_);
  recycled.reset();
  // clear() keeps the capacity, so the resize allocates only if the buffer is too small, and
  // then without copying the old values; growth leaves the new elements uninitialised.
  tensor.values_.clear();
  tensor.values_.resize(checked_element_count<T, Storage>(shape));
  tensor.shape_ = shape;
  return tensor;
}

template <typename T>
std::size_t Tensor<T>::dim(std::size_t axis) const {
  if (axis >= shape_.size()) {
    throw std::out_of_range("Tensor::dim: expected an axis below the rank " +
                            std::to_string(shape_.size()) + ", got " + std::to_string(axis));
  }
  return shape_[axis];
}

template <typename T>
std::size_t Tensor<T>::offset(std::initializer_list<std::size_t> index) const {
  if (index.size() != shape_.size()) {
    throw std::out_of_range("Tensor: expected " + std::to_string(shape_.size()) +
                            " indices for shape " + to_string(shape_) + ", got " +
                            std::to_string(index.size()));
  }
  std::size_t flat = 0;
  std::size_t axis = 0;
  for (const std::size_t i : index) {
    if (i >= shape_[axis]) {
      throw std::out_of_range("Tensor: index " + std::to_string(i) + " on axis " +
                              std::to_string(axis) + " is outside shape " + to_string(shape_));
    }
    flat = flat * shape_[axis] + i;
    ++axis;
  }
  return flat;
}

template <typename T>
Tensor<T> Tensor<T>::reshaped(Shape new_shape) const& {
  Tensor copy = *this;
  return std::move(copy).reshaped(std::move(new_shape));
}

template <typename T>
Tensor<T> Tensor<T>::reshaped(Shape new_shape) && {
  if (element_count(new_shape) != values_.size()) {
    throw std::invalid_argument("Tensor::reshaped: expected a shape with " +
                                std::to_string(values_.size()) + " elements (from " +
                                to_string(shape_) + "), got " + to_string(new_shape));
  }
  shape_ = std::move(new_shape);
  return std::move(*this);
}

template <typename T>
void Tensor<T>::fill(T value) {
  std::fill(values_.begin(), values_.end(), value);
}

template class Tensor<float>;
template class Tensor<double>;

}  // namespace cnnkit
