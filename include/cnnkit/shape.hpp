// Shape: the extents of a tensor's axes, batch first ([64, 1, 28, 28]). A small fixed-capacity
// sequence (at most kMaxRank axes, stored inline) with the parts of std::vector's interface that
// shapes need, so that making, copying and comparing shapes never touches the heap: a training
// step builds many of them (every layer result, every output_shape() check).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace cnnkit {

class Shape {
 public:
  // More axes than any layer uses (4); a fifth to eighth axis is there for users' own tensors.
  static constexpr std::size_t kMaxRank = 8;

  using value_type = std::size_t;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using reference = std::size_t&;
  using const_reference = const std::size_t&;
  using iterator = std::size_t*;
  using const_iterator = const std::size_t*;

  constexpr Shape() noexcept = default;
  Shape(std::initializer_list<std::size_t> extents) : Shape(extents.begin(), extents.end()) {}
  template <std::input_iterator Iterator>
  Shape(Iterator first, Iterator last) {
    for (; first != last; ++first) push_back(static_cast<std::size_t>(*first));
  }
  // From a vector of extents (IDX headers, JSON): throws std::invalid_argument past kMaxRank.
  explicit Shape(const std::vector<std::size_t>& extents) : Shape(extents.begin(), extents.end()) {}

  std::size_t size() const noexcept { return rank_; }
  bool empty() const noexcept { return rank_ == 0; }

  std::size_t& operator[](std::size_t axis) noexcept { return extents_[axis]; }
  const std::size_t& operator[](std::size_t axis) const noexcept { return extents_[axis]; }
  std::size_t& front() noexcept { return extents_[0]; }
  const std::size_t& front() const noexcept { return extents_[0]; }
  std::size_t& back() noexcept { return extents_[rank_ - 1]; }
  const std::size_t& back() const noexcept { return extents_[rank_ - 1]; }

  iterator begin() noexcept { return extents_.data(); }
  iterator end() noexcept { return extents_.data() + rank_; }
  const_iterator begin() const noexcept { return extents_.data(); }
  const_iterator end() const noexcept { return extents_.data() + rank_; }
  const_iterator cbegin() const noexcept { return begin(); }
  const_iterator cend() const noexcept { return end(); }

  void push_back(std::size_t extent) {
    require_room(1);
    extents_[rank_++] = extent;
  }
  void pop_back() noexcept { --rank_; }
  void clear() noexcept { rank_ = 0; }

  // Inserts [first, last) before `position`; returns an iterator to the first inserted extent.
  template <std::forward_iterator Iterator>
  iterator insert(const_iterator position, Iterator first, Iterator last) {
    const auto at = static_cast<std::size_t>(position - begin());
    const auto count = static_cast<std::size_t>(std::distance(first, last));
    require_room(count);
    std::copy_backward(begin() + at, end(), end() + count);
    std::copy(first, last, begin() + at);
    rank_ += count;
    return begin() + at;
  }
  iterator insert(const_iterator position, std::size_t extent) {
    const std::size_t* one = &extent;
    return insert(position, one, one + 1);
  }

  // The same axes with the same extents.
  friend bool operator==(const Shape& a, const Shape& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  void require_room(std::size_t more) const {
    if (rank_ + more > kMaxRank) {
      throw std::invalid_argument("Shape: expected at most " + std::to_string(kMaxRank) +
                                  " axes, got " + std::to_string(rank_ + more));
    }
  }

  std::array<std::size_t, kMaxRank> extents_{};
  std::size_t rank_ = 0;
};

// "[2, 3, 5]": how every error message prints a shape.
std::string to_string(const Shape& shape);
// The same for extents not (yet) checked to fit a Shape, such as a file header's sizes.
std::string to_string(const std::vector<std::size_t>& extents);

// Number of elements a tensor of this shape holds (1 for the empty shape, a scalar). Throws
// std::overflow_error naming the shape when the product does not fit in std::size_t, so that no
// tensor is ever built with fewer values than its shape claims.
std::size_t element_count(const Shape& shape);

}  // namespace cnnkit
