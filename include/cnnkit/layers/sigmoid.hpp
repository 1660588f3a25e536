// Sigmoid: y = 1 / (1 + exp(-x)); backward E_{n-1} = E_n * y * (1 - y), from forward's output.
#pragma once

#include "cnnkit/layers/activation.hpp"

namespace cnnkit {

template <typename T>
class Sigmoid : public Activation<T> {
 public:
  std::string type() const override { return "Sigmoid"; }

 protected:
  void activate(const T* x, T* y, T* kept, std::size_t n) const override;
  void derive(const T* kept, const T* error, T* input_error, std::size_t n) const override;
  std::size_t flops_per_element() const override { return 4; }  // negate, exp, add, divide
};

extern template class Sigmoid<float>;
extern template class Sigmoid<double>;

}  // namespace cnnkit
