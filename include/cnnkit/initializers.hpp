// Initializer objects (lecture: "Initializers"): every layer with weights receives one for its
// weights and one for its bias, and asks them for a tensor of its shape given its fan_in and
// fan_out (FullyConnected: input and output size; Conv: c*m*n and num_kernels*m*n).
#pragma once

#include <cstddef>
#include <memory>

#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
class Initializer {
 public:
  virtual ~Initializer() = default;
  // Non-const: a user's initializer may keep state (a counter, its own engine).
  virtual Tensor<T> initialize(const Shape& shape, std::size_t fan_in, std::size_t fan_out) = 0;
  virtual std::unique_ptr<Initializer> clone() const = 0;
};

// Every weight = value (default 0.1: the lecture's choice for biases in front of ReLUs).
template <typename T>
class Constant : public Initializer<T> {
 public:
  explicit Constant(T value = T(0.1)) : value_(value) {}
  Tensor<T> initialize(const Shape& shape, std::size_t fan_in, std::size_t fan_out) override;
  std::unique_ptr<Initializer<T>> clone() const override;
  T value() const { return value_; }

 private:
  T value_;
};

// Uniform in [0, 1).
template <typename T>
class UniformRandom : public Initializer<T> {
 public:
  Tensor<T> initialize(const Shape& shape, std::size_t fan_in, std::size_t fan_out) override;
  std::unique_ptr<Initializer<T>> clone() const override;
};

// Xavier/Glorot: zero-mean normal, sigma = sqrt(2 / (fan_out + fan_in)).
template <typename T>
class Xavier : public Initializer<T> {
 public:
  Tensor<T> initialize(const Shape& shape, std::size_t fan_in, std::size_t fan_out) override;
  std::unique_ptr<Initializer<T>> clone() const override;
};

// He: zero-mean normal, sigma = sqrt(2 / fan_in) (for ReLU networks).
template <typename T>
class He : public Initializer<T> {
 public:
  Tensor<T> initialize(const Shape& shape, std::size_t fan_in, std::size_t fan_out) override;
  std::unique_ptr<Initializer<T>> clone() const override;
};

extern template class Constant<float>;
extern template class Constant<double>;
extern template class UniformRandom<float>;
extern template class UniformRandom<double>;
extern template class Xavier<float>;
extern template class Xavier<double>;
extern template class He<float>;
extern template class He<double>;

}  // namespace cnnkit
