// LeakyReLU(slope): y = x where x > 0, else slope * x; backward E_{n-1} = E_n where x > 0, else
// slope * E_n (PyTorch's choice at the kink x = 0: the slope). Any finite slope (PyTorch's
// default 0.01; 0 is ReLU, negative slopes are allowed as in PyTorch).
#pragma once

#include "cnnkit/layers/activation.hpp"

namespace cnnkit {

template <typename T>
class LeakyReLU : public Activation<T> {
 public:
  // Throws std::invalid_argument unless the slope is finite.
  explicit LeakyReLU(T slope = T(0.01));

  std::string type() const override { return "LeakyReLU"; }
  T slope() const { return slope_; }

 protected:
  void activate(const T* x, T* y, T* kept, std::size_t n) const override;
  void derive(const T* kept, const T* error, T* input_error, std::size_t n) const override;
  std::size_t flops_per_element() const override { return 2; }  // compare, multiply

 private:
  T slope_;
};

extern template class LeakyReLU<float>;
extern template class LeakyReLU<double>;

}  // namespace cnnkit
