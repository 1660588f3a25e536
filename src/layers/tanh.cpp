// TanH<T> (the regularisation lecture's zero-centred activation):
//   forward:  y = tanh(x)
//   backward: E_{n-1} = E_n * (1 - y^2), with forward's y (kept instead of x: no second tanh)
#include "cnnkit/layers/tanh.hpp"

#include <cmath>

namespace cnnkit {

template <typename T>
void TanH<T>::activate(const T* x, T* y, T* kept, std::size_t n) const {
  if (kept == nullptr) {
    for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const T value = std::tanh(x[i]);
    kept[i] = value;
    y[i] = value;
  }
}

template <typename T>
void TanH<T>::derive(const T* kept, const T* error, T* input_error, std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) input_error[i] = error[i] * (T(1) - kept[i] * kept[i]);
}

template class TanH<float>;
template class TanH<double>;

}  // namespace cnnkit
