// Initializers of the lecture ("Initializers"). Every random one draws from the library's seeded
// engine (random.hpp), so set_seed() makes the initial weights of a run repeatable.
#include "cnnkit/initializers.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "check.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {

namespace {

// A tensor of this shape, every element drawn from `distribution` with the library's engine.
template <typename T, typename Distribution>
Tensor<T> draw(const Shape& shape, Distribution distribution) {
  Tensor<T> tensor(shape);
  RandomEngine& engine = random_engine();
  for (T& value : tensor) value = distribution(engine);
  return tensor;
}

}  // namespace

// ---- Constant: every weight = value

template <typename T>
Tensor<T> Constant<T>::initialize(const Shape& shape, std::size_t /*fan_in*/,
                                  std::size_t /*fan_out*/) {
  return Tensor<T>(shape, value_);
}

template <typename T>
std::unique_ptr<Initializer<T>> Constant<T>::clone() const {
  return std::make_unique<Constant>(*this);
}

// ---- UniformRandom: U[0, 1)

template <typename T>
Tensor<T> UniformRandom<T>::initialize(const Shape& shape, std::size_t /*fan_in*/,
                                       std::size_t /*fan_out*/) {
  Tensor<T> tensor = draw<T>(shape, std::uniform_real_distribution<T>(T(0), T(1)));
  // The standard lets the distribution round up to exactly 1 (LWG 2524; libstdc++ guards
  // against it, other libraries may not): keep the promised half-open interval everywhere.
  const T below_one = std::nextafter(T(1), T(0));
  for (T& value : tensor) value = std::min(value, below_one);
  return tensor;
}

template <typename T>
std::unique_ptr<Initializer<T>> UniformRandom<T>::clone() const {
  return std::make_unique<UniformRandom>(*this);
}

// ---- Xavier/Glorot: N(0, sigma), sigma = sqrt(2 / (fan_out + fan_in))

template <typename T>
Tensor<T> Xavier<T>::initialize(const Shape& shape, std::size_t fan_in, std::size_t fan_out) {
  detail::require(fan_in + fan_out > 0, "Xavier", "fan_in + fan_out > 0",
                  "fan_in = " + std::to_string(fan_in) + ", fan_out = " + std::to_string(fan_out));
  const T sigma = std::sqrt(T(2) / static_cast<T>(fan_out + fan_in));
  return draw<T>(shape, std::normal_distribution<T>(T(0), sigma));
}

template <typename T>
std::unique_ptr<Initializer<T>> Xavier<T>::clone() const {
  return std::make_unique<Xavier>(*this);
}

// ---- He: N(0, sigma), sigma = sqrt(2 / fan_in) (the ReLU correction of Xavier)

template <typename T>
Tensor<T> He<T>::initialize(const Shape& shape, std::size_t fan_in, std::size_t /*fan_out*/) {
  detail::require(fan_in > 0, "He", "fan_in > 0", "fan_in = " + std::to_string(fan_in));
  const T sigma = std::sqrt(T(2) / static_cast<T>(fan_in));
  return draw<T>(shape, std::normal_distribution<T>(T(0), sigma));
}

template <typename T>
std::unique_ptr<Initializer<T>> He<T>::clone() const {
  return std::make_unique<He>(*this);
}

template class Constant<float>;
template class Constant<double>;
template class UniformRandom<float>;
template class UniformRandom<double>;
template class Xavier<float>;
template class Xavier<double>;
template class He<float>;
template class He<double>;

}  // namespace cnnkit
