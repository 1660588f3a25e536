// LeakyReLU<T>:
//   forward:  y = x where x > 0, else slope * x
//   backward: E_{n-1} = E_n where x > 0, else slope * E_n (at x = 0 the slope, as PyTorch)
// Both are selects, not branches: real activations have signs close to random.
#include "cnnkit/layers/leaky_relu.hpp"

#include <cmath>

#include "check.hpp"

namespace cnnkit {

template <typename T>
LeakyReLU<T>::LeakyReLU(T slope) : slope_(slope) {
  detail::require(std::isfinite(slope), "LeakyReLU", "a finite slope",
                  "slope " + detail::format_number(slope));
}

template <typename T>
void LeakyReLU<T>::activate(const T* x, T* y, T* kept, std::size_t n) const {
  const T slope = slope_;
  if (kept == nullptr) {
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] > T(0) ? x[i] : slope * x[i];
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const T value = x[i];
    kept[i] = value;
    y[i] = value > T(0) ? value : slope * value;
  }
}

template <typename T>
void LeakyReLU<T>::derive(const T* kept, const T* error, T* input_error, std::size_t n) const {
  const T slope = slope_;
  for (std::size_t i = 0; i < n; ++i) {
    const T e = error[i];
    input_error[i] = kept[i] > T(0) ? e : slope * e;
  }
}

template class LeakyReLU<float>;
template class LeakyReLU<double>;

}  // namespace cnnkit
