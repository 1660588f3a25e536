// Tensor<T>: a contiguous, row-major block of numbers with a shape, batch first:
// (batch, features), (batch, channels, y) or (batch, channels, y, x).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "cnnkit/shape.hpp"

namespace cnnkit {

namespace detail {

// std::allocator, except that constructing an element without a value leaves it uninitialised
// (default-initialisation, a no-op for numbers). Tensor::uninitialized uses it to skip the
// zero-fill of a buffer its caller overwrites in full anyway (every layer's output).
template <typename T>
struct NoFillAllocator : std::allocator<T> {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = NoFillAllocator<U>;
  };
  NoFillAllocator() = default;
  template <typename U>
  NoFillAllocator(const NoFillAllocator<U>& /*other*/) noexcept {}

  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

}  // namespace detail

template <typename T>
class Tensor {
 public:
  using value_type = T;
  using Storage = std::vector<T, detail::NoFillAllocator<T>>;

  Tensor() = default;
  Tensor(const Tensor&) = default;
  Tensor& operator=(const Tensor&) = default;
  // A moved-from tensor is the default tensor (shape [0], no values), so that its shape never
  // claims values it no longer has (Shape is stored inline and would otherwise stay).
  Tensor(Tensor&& other) noexcept : shape_(other.shape_), values_(std::move(other.values_)) {
    other.reset();
  }
  Tensor& operator=(Tensor&& other) noexcept {
    if (this != &other) {
      shape_ = other.shape_;
      values_ = std::move(other.values_);
      other.reset();
    }
    return *this;
  }
  ~Tensor() = default;
  // Every constructor throws std::overflow_error naming the shape when its element count (or
  // that count in bytes) does not fit in std::size_t.
  explicit Tensor(Shape shape);  // zero-filled
  Tensor(Shape shape, T fill);   // every element = fill
  // A copy of the values; throws if values.size() != element_count(shape).
  Tensor(Shape shape, std::vector<T> values);
  // Elements indeterminate: each must be written before it is read. For a result its caller
  // overwrites in full (a layer's output), which then costs no zero-fill pass.
  static Tensor uninitialized(Shape shape);
  // The same, in the buffer of `recycled` (left empty) when that is large enough: no allocation.
  static Tensor uninitialized(Shape shape, Tensor&& recycled);
  // Takes over a buffer of this storage type without a copy (same check as the constructor).
  static Tensor from_storage(Shape shape, Storage values);

  const Shape& shape() const noexcept { return shape_; }
  std::size_t rank() const noexcept { return shape_.size(); }
  std::size_t dim(std::size_t axis) const;  // throws std::out_of_range past the rank
  std::size_t size() const noexcept { return values_.size(); }
  bool empty() const noexcept { return values_.empty(); }

  T* data() noexcept { return values_.data(); }
  const T* data() const noexcept { return values_.data(); }
  T* begin() noexcept { return values_.data(); }
  T* end() noexcept { return values_.data() + values_.size(); }
  const T* begin() const noexcept { return values_.data(); }
  const T* end() const noexcept { return values_.data() + values_.size(); }
  const Storage& values() const noexcept { return values_; }

  // Flat, unchecked access (the hot path of every kernel).
  T& operator[](std::size_t flat_index) noexcept { return values_[flat_index]; }
  const T& operator[](std::size_t flat_index) const noexcept { return values_[flat_index]; }

  // Multi-index access, checked: the number of indices must equal the rank and each index
  // must lie inside its axis, else std::out_of_range.
  template <typename... Index>
  T& operator()(Index... index) {
    return values_[offset({static_cast<std::size_t>(index)...})];
  }
  template <typename... Index>
  const T& operator()(Index... index) const {
    return values_[offset({static_cast<std::size_t>(index)...})];
  }
  // Flat offset of a multi-index (row-major), checked as operator() is.
  std::size_t offset(std::initializer_list<std::size_t> index) const;

  // Same values, new shape; throws std::invalid_argument if the element count changes.
  Tensor reshaped(Shape new_shape) const&;
  Tensor reshaped(Shape new_shape) &&;

  void fill(T value);

  // Element-wise equality of shape and values (exact; tests compare with tolerances instead).
  bool operator==(const Tensor& other) const = default;

 private:
  void reset() noexcept {
    shape_ = Shape{0};
    values_.clear();  // a moved-from vector is only "valid": make it empty for sure
  }

  Shape shape_{0};  // a default tensor is empty: shape [0], no values
  Storage values_;
};

extern template class Tensor<float>;
extern template class Tensor<double>;

}  // namespace cnnkit
