// Optimizers of the lecture ("Advanced Optimizers"): plain SGD, SGD with momentum and Adam, and
// AdamW (Adam with decoupled weight decay).
// Each instance belongs to exactly one parameter tensor (see parameter.hpp), so its state is the
// state of that tensor alone. State tensors are allocated on the first update and reused after,
// so a steady-state update allocates nothing; the inner loops are flat and branch-free so that
// the compiler can vectorise them; Adam's (a square root and a division per weight) is a kernel
// of its own (kernels/adam.hpp) on the widest vectors and, for large tensors, on every thread.
#include "cnnkit/optimizers.hpp"

#include <cmath>
#include <sstream>
#include <string>
#include <utility>

#include "check.hpp"
#include "kernels/adam.hpp"

namespace cnnkit {

namespace {

// "{r, v}": the keys of a state map, for error messages.
template <typename T>
std::string keys_of(const std::map<std::string, Tensor<T>>& state) {
  std::string keys = "{";
  bool first = true;
  for (const auto& [key, tensor] : state) {
    keys += (first ? "" : ", ") + key;
    first = false;
  }
  return keys + "}";
}

template <typename T>
void require_learning_rate(T learning_rate, std::string_view component) {
  // The comparisons are false for NaN, so NaN is rejected too.
  detail::require(learning_rate > T(0) && std::isfinite(learning_rate), component,
                  "a finite learning rate > 0", detail::format_number(learning_rate));
}

// Momentum-like factors (mu, rho) must lie in [0, 1): at 1 the bias correction 1 - mu^k is 0.
template <typename T>
void require_unit_interval(T value, std::string_view component, std::string_view what) {
  detail::require(value >= T(0) && value < T(1), component, std::string(what) + " in [0, 1)",
                  detail::format_number(value));
}

// A state map must hold exactly these keys.
template <typename T>
void require_keys(const std::map<std::string, Tensor<T>>& state,
                  const std::map<std::string, Tensor<T>>& expected_like,
                  std::string_view component) {
  bool same = state.size() == expected_like.size();
  for (const auto& [key, tensor] : expected_like) same = same && state.contains(key);
  detail::require(same, component, "state with keys " + keys_of(expected_like),
                  "keys " + keys_of(state));
}

}  // namespace

// ---- Optimizer

template <typename T>
void Optimizer<T>::update(Tensor<T>& weights, const Tensor<T>& gradient) {
  // name() builds a string: only for the message (the update runs every training step).
  if (gradient.shape() != weights.shape()) {
    detail::require_shape(gradient.shape(), weights.shape(), name(),
                          "gradient with the weights' shape, i.e.");
  }
  update_in_place(weights, gradient);
}

template <typename T>
void Optimizer<T>::update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) {
  Tensor<T> updated = calculate_update(weights, gradient);
  if (updated.shape() != weights.shape()) {
    detail::require_shape(updated.shape(), weights.shape(), name(),
                          "calculate_update to return the weights' shape, i.e.");
  }
  weights = std::move(updated);
}

template <typename T>
Tensor<T> Optimizer<T>::updated_copy(const Tensor<T>& weights, const Tensor<T>& gradient) {
  Tensor<T> updated = weights;
  update(updated, gradient);
  return updated;
}

template <typename T>
void Optimizer<T>::set_learning_rate_scale(T scale) {
  // The comparison is false for NaN, so NaN is rejected too. name() only for the message: the
  // trainer sets the scale every step.
  if (!(scale >= T(0) && std::isfinite(scale))) {
    detail::fail(name(), "a finite learning-rate scale >= 0", detail::format_number(scale));
  }
  learning_rate_scale_ = scale;
}

template <typename T>
void Optimizer<T>::set_state(const std::map<std::string, Tensor<T>>& state) {
  detail::require(state.empty(), name(), "no state (" + name() + " keeps none)",
                  "keys " + keys_of(state));
}

// ---- Sgd: w^(k+1) = w^(k) - eta * g

template <typename T>
Sgd<T>::Sgd(T learning_rate) : learning_rate_(learning_rate) {
  require_learning_rate(learning_rate, "Sgd");
}

template <typename T>
std::unique_ptr<Optimizer<T>> Sgd<T>::clone() const {
  return std::make_unique<Sgd>(*this);
}

template <typename T>
void Sgd<T>::update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) {
  T* const w = weights.data();
  const T* const g = gradient.data();
  const std::size_t n = weights.size();
  const T eta = learning_rate_ * this->learning_rate_scale();
  for (std::size_t i = 0; i < n; ++i) w[i] -= eta * g[i];
}

// ---- SgdWithMomentum: v^(k) = mu v^(k-1) - eta g;  w^(k+1) = w^(k) + v^(k)

template <typename T>
SgdWithMomentum<T>::SgdWithMomentum(T learning_rate, T momentum)
    : learning_rate_(learning_rate), momentum_(momentum) {
  require_learning_rate(learning_rate, "SgdWithMomentum");
  require_unit_interval(momentum, "SgdWithMomentum", "momentum");
}

template <typename T>
std::unique_ptr<Optimizer<T>> SgdWithMomentum<T>::clone() const {
  return std::make_unique<SgdWithMomentum>(*this);
}

template <typename T>
std::map<std::string, Tensor<T>> SgdWithMomentum<T>::state() const {
  return {{"v", velocity_}};
}

template <typename T>
void SgdWithMomentum<T>::set_state(const std::map<std::string, Tensor<T>>& state) {
  require_keys(state, this->state(), "SgdWithMomentum");
  velocity_ = state.at("v");
}

template <typename T>
void SgdWithMomentum<T>::update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) {
  if (velocity_.empty()) {
    velocity_ = Tensor<T>(weights.shape());  // v^(0) = 0
  }
  // One optimizer per tensor: a velocity built for another shape means it is shared by mistake.
  detail::require_shape(weights.shape(), velocity_.shape(), "SgdWithMomentum",
                        "weights with the shape of its velocity, i.e.");
  T* const w = weights.data();
  T* const v = velocity_.data();
  const T* const g = gradient.data();
  const std::size_t n = weights.size();
  const T mu = momentum_;
  const T eta = learning_rate_ * this->learning_rate_scale();
  for (std::size_t i = 0; i < n; ++i) {
    v[i] = mu * v[i] - eta * g[i];
    w[i] += v[i];
  }
}

// ---- Adam (lecture: "ADAM")
//   v^(k) = mu v^(k-1) + (1 - mu) g          r^(k) = rho r^(k-1) + (1 - rho) g.g
//   v^ = v^(k) / (1 - mu^k)                  r^ = r^(k) / (1 - rho^k)
//   w^(k+1) = w^(k) - eta v^ / (sqrt(r^) + eps)
// k is the exponent of the bias correction: it counts this tensor's updates from 1.
// The slide also adds eps to the numerator, (v^ + eps) / (sqrt(r^) + eps). We leave it out, as
// Kingma & Ba and PyTorch do: with it, a weight whose gradient stays 0 has v^ = r^ = 0 and still
// moves by eta * eps / eps = eta every step. The worked value (-0.9814473195614205)
// is this form's.

template <typename T>
Adam<T>::Adam(T learning_rate, T mu, T rho, T epsilon)
    : learning_rate_(learning_rate), mu_(mu), rho_(rho), epsilon_(epsilon) {
  require_learning_rate(learning_rate, "Adam");
  require_unit_interval(mu, "Adam", "mu");
  require_unit_interval(rho, "Adam", "rho");
  // eps > 0: with eps = 0 a weight whose gradients were all 0 so far gets 0 / 0 = NaN.
  detail::require(epsilon > T(0) && std::isfinite(epsilon), "Adam", "a finite epsilon > 0",
                  detail::format_number(epsilon));
}

template <typename T>
std::unique_ptr<Optimizer<T>> Adam<T>::clone() const {
  return std::make_unique<Adam>(*this);
}

template <typename T>
std::map<std::string, Tensor<T>> Adam<T>::state() const {
  return {{"v", v_}, {"r", r_}, {"k", Tensor<T>({1}, static_cast<T>(k_))}};
}

template <typename T>
void Adam<T>::set_state(const std::map<std::string, Tensor<T>>& state) {
  require_keys(state, this->state(), "Adam");
  const Tensor<T>& v = state.at("v");
  const Tensor<T>& r = state.at("r");
  const Tensor<T>& k = state.at("k");
  detail::require_shape(k.shape(), {1}, "Adam", "state k");
  const T k_value = k[0];
  detail::require(k_value >= T(0) && std::isfinite(k_value) && std::floor(k_value) == k_value,
                  "Adam", "state k to be a whole number >= 0", detail::format_number(k_value));
  detail::require_shape(r.shape(), v.shape(), "Adam", "state r with the shape of state v, i.e.");
  // Before the first update there are no moments; after it there must be.
  detail::require(
      (k_value == T(0)) == v.empty(), "Adam", "empty moments exactly when k = 0",
      "k = " + detail::format_number(k_value) + " with v of shape " + to_string(v.shape()));
  v_ = v;
  r_ = r;
  k_ = static_cast<std::uint64_t>(k_value);
}

template <typename T>
void Adam<T>::update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) {
  if (k_ == 0) {
    v_ = Tensor<T>(weights.shape());  // v^(0) = 0
    r_ = Tensor<T>(weights.shape());  // r^(0) = 0
  }
  // One optimizer per tensor: moments built for another shape mean it is shared by mistake.
  detail::require_shape(weights.shape(), v_.shape(), "Adam",
                        "weights with the shape of its moments, i.e.");
  ++k_;
  const double k = static_cast<double>(k_);
  // mu, rho in [0, 1) and k >= 1, so both corrections are > 0. In double: 1 - rho^k cancels
  // digits (rho = 0.999: 1e-3 at k = 1), which float cannot spare.
  const T inverse_correction_v =
      static_cast<T>(1.0 / (1.0 - std::pow(static_cast<double>(mu_), k)));
  const T inverse_correction_r =
      static_cast<T>(1.0 / (1.0 - std::pow(static_cast<double>(rho_), k)));
  // The formulas above, element by element (kernels/adam.hpp).
  kernels::adam_update(weights.data(), v_.data(), r_.data(), gradient.data(), weights.size(),
                       kernels::AdamStep<T>{mu_, rho_, learning_rate_ * this->learning_rate_scale(),
                                            epsilon_, inverse_correction_v, inverse_correction_r});
}

// ---- AdamW: w^(k) = w^(k) (1 - eta wd), then Adam's step

template <typename T>
AdamW<T>::AdamW(T learning_rate, T mu, T rho, T epsilon, T weight_decay)
    : Adam<T>(learning_rate, mu, rho, epsilon), weight_decay_(weight_decay) {
  detail::require(weight_decay >= T(0) && std::isfinite(weight_decay), "AdamW",
                  "a finite weight_decay >= 0", detail::format_number(weight_decay));
}

template <typename T>
std::unique_ptr<Optimizer<T>> AdamW<T>::clone() const {
  return std::make_unique<AdamW>(*this);
}

template <typename T>
void AdamW<T>::update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) {
  if (weight_decay_ != T(0)) {
    // The factor in double, rounded once, as PyTorch's param.mul_(1 - lr * weight_decay).
    const T keep = static_cast<T>(1.0 - static_cast<double>(this->learning_rate()) *
                                            static_cast<double>(this->learning_rate_scale()) *
                                            static_cast<double>(weight_decay_));
    T* const w = weights.data();
    const std::size_t n = weights.size();
    for (std::size_t i = 0; i < n; ++i) w[i] *= keep;
  }
  Adam<T>::update_in_place(weights, gradient);
}

template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class SgdWithMomentum<float>;
template class SgdWithMomentum<double>;
template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace cnnkit
