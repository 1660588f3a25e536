// Sigmoid<T> (the regularisation lecture's classic activation):
//   forward:  y = 1 / (1 + exp(-x))   (exp(-x) = inf for very negative x gives y = 0, no NaN)
//   backward: E_{n-1} = E_n * y * (1 - y), with forward's y (kept instead of x: no second exp)
#include "cnnkit/layers/sigmoid.hpp"

#include <cmath>

namespace cnnkit {

template <typename T>
void Sigmoid<T>::activate(const T* x, T* y, T* kept, std::size_t n) const {
  if (kept == nullptr) {
    for (std::size_t i = 0; i < n; ++i) y[i] = T(1) / (T(1) + std::exp(-x[i]));
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const T value = T(1) / (T(1) + std::exp(-x[i]));
    kept[i] = value;
    y[i] = value;
  }
}

template <typename T>
void Sigmoid<T>::derive(const T* kept, const T* error, T* input_error, std::size_t n) const {
  for (std::size_t i = 0; i < n; ++i) input_error[i] = error[i] * kept[i] * (T(1) - kept[i]);
}

template class Sigmoid<float>;
template class Sigmoid<double>;

}  // namespace cnnkit
