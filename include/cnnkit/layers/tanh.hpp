// TanH: y = tanh(x); backward E_{n-1} = E_n * (1 - y^2), from forward's output.
#pragma once

#include "cnnkit/layers/activation.hpp"

namespace cnnkit {

template <typename T>
class TanH : public Activation<T> {
 public:
  std::string type() const override { return "TanH"; }

 protected:
  void activate(const T* x, T* y, T* kept, std::size_t n) const override;
  void derive(const T* kept, const T* error, T* input_error, std::size_t n) const override;
  std::size_t flops_per_element() const override { return 1; }  // tanh
};

extern template class TanH<float>;
extern template class TanH<double>;

}  // namespace cnnkit
