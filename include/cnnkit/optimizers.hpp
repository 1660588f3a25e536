// Optimizers (lecture: "Advanced Optimizers"). Each parameter tensor of a layer owns its own
// copy of the optimizer, so state such as momentum or Adam's moments and step count k belongs to
// exactly one tensor and advances once per update of it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // The lecture's interface and the one method a user optimizer must write (with clone()):
  // returns the updated weights, leaves the arguments alone. weights and gradient have the same
  // shape. A user optimizer multiplies its learning rate by learning_rate_scale() to follow a
  // schedule.
  virtual Tensor<T> calculate_update(const Tensor<T>& weights, const Tensor<T>& gradient) = 0;

  // The same update written into `weights`: what layers call (Parameter::apply_update). Throws
  // std::invalid_argument when the two shapes differ, or when calculate_update returns another.
  void update(Tensor<T>& weights, const Tensor<T>& gradient);

  virtual std::unique_ptr<Optimizer> clone() const = 0;
  // Shown in messages and in the names of checkpoint state tensors ("Sgd", "SgdWithMomentum",
  // "Adam", "AdamW"); "UserOptimizer" unless a user optimizer names itself.
  virtual std::string name() const { return "UserOptimizer"; }

  // The factor a learning-rate schedule sets: every update uses learning_rate * scale (1 unless
  // set; finite and >= 0, else std::invalid_argument). The built-ins' learning_rate() is the
  // unscaled rate.
  void set_learning_rate_scale(T scale);
  T learning_rate_scale() const { return learning_rate_scale_; }

  // Internal state for checkpoints ("v", "r", "k", ...); empty for stateless optimizers. A user
  // optimizer that keeps state overrides both, else a checkpoint cannot restore it.
  virtual std::map<std::string, Tensor<T>> state() const { return {}; }
  virtual void set_state(const std::map<std::string, Tensor<T>>& state);

 protected:
  Optimizer() = default;
  Optimizer(const Optimizer&) = default;
  Optimizer& operator=(const Optimizer&) = default;

  // The in-place update; weights and gradient have the same shape (checked by update()). By
  // default weights = calculate_update(weights, gradient); the built-in optimizers override it
  // so that a step allocates nothing, and compute calculate_update with updated_copy().
  virtual void update_in_place(Tensor<T>& weights, const Tensor<T>& gradient);
  // A copy of the weights with update_in_place applied.
  Tensor<T> updated_copy(const Tensor<T>& weights, const Tensor<T>& gradient);

 private:
  T learning_rate_scale_ = T(1);
};

// w = w - eta * g
template <typename T>
class Sgd : public Optimizer<T> {
 public:
  explicit Sgd(T learning_rate);
  Tensor<T> calculate_update(const Tensor<T>& weights, const Tensor<T>& gradient) override {
    return this->updated_copy(weights, gradient);
  }
  std::unique_ptr<Optimizer<T>> clone() const override;
  std::string name() const override { return "Sgd"; }
  T learning_rate() const { return learning_rate_; }

 protected:
  void update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) override;

 private:
  T learning_rate_;
};

// v = mu * v - eta * g;  w = w + v  (v starts at 0)
template <typename T>
class SgdWithMomentum : public Optimizer<T> {
 public:
  SgdWithMomentum(T learning_rate, T momentum);
  Tensor<T> calculate_update(const Tensor<T>& weights, const Tensor<T>& gradient) override {
    return this->updated_copy(weights, gradient);
  }
  std::unique_ptr<Optimizer<T>> clone() const override;
  std::string name() const override { return "SgdWithMomentum"; }
  std::map<std::string, Tensor<T>> state() const override;
  void set_state(const std::map<std::string, Tensor<T>>& state) override;
  T learning_rate() const { return learning_rate_; }
  T momentum() const { return momentum_; }

 protected:
  void update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) override;

 private:
  T learning_rate_;
  T momentum_;
  Tensor<T> velocity_;  // v, shaped like the weights on the first update
};

// v = mu v + (1 - mu) g;  r = rho r + (1 - rho) g.g;  v^ = v / (1 - mu^k);  r^ = r / (1 - rho^k);
// w = w - eta v^ / (sqrt(r^) + eps), k counting updates from 1 (lecture: "ADAM"; eps only in the
// denominator, see optimizers.cpp). The corrections 1 - mu^k and 1 - rho^k are computed in double
// for both types, as PyTorch does: in float, 1 - rho^k for rho = 0.999 keeps few correct digits.
template <typename T>
class Adam : public Optimizer<T> {
 public:
  // learning_rate > 0, mu and rho in [0, 1), epsilon > 0 (all finite), else
  // std::invalid_argument.
  Adam(T learning_rate, T mu, T rho, T epsilon = T(1e-8));
  Tensor<T> calculate_update(const Tensor<T>& weights, const Tensor<T>& gradient) override {
    return this->updated_copy(weights, gradient);
  }
  std::unique_ptr<Optimizer<T>> clone() const override;
  std::string name() const override { return "Adam"; }
  std::map<std::string, Tensor<T>> state() const override;
  void set_state(const std::map<std::string, Tensor<T>>& state) override;
  T learning_rate() const { return learning_rate_; }
  T mu() const { return mu_; }
  T rho() const { return rho_; }
  T epsilon() const { return epsilon_; }
  std::uint64_t step() const { return k_; }

 protected:
  void update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) override;

 private:
  T learning_rate_;
  T mu_;
  T rho_;
  T epsilon_;
  Tensor<T> v_;          // first moment
  Tensor<T> r_;          // second moment
  std::uint64_t k_ = 0;  // updates so far: the exponent of the bias correction
};

// PyTorch's AdamW (Loshchilov & Hutter's decoupled weight decay): w = w (1 - eta wd), eta the
// scheduled rate, then Adam's step. The decay shrinks the weights directly instead of entering the
// gradient, so Adam's per-weight scaling does not weaken it.
template <typename T>
class AdamW : public Adam<T> {
 public:
  // Adam's arguments and a finite weight_decay >= 0 (else std::invalid_argument).
  AdamW(T learning_rate, T mu, T rho, T epsilon, T weight_decay);
  std::unique_ptr<Optimizer<T>> clone() const override;
  std::string name() const override { return "AdamW"; }
  T weight_decay() const { return weight_decay_; }

 protected:
  void update_in_place(Tensor<T>& weights, const Tensor<T>& gradient) override;

 private:
  T weight_decay_;
};

extern template class Optimizer<float>;
extern template class Optimizer<double>;
extern template class Sgd<float>;
extern template class Sgd<double>;
extern template class SgdWithMomentum<float>;
extern template class SgdWithMomentum<double>;
extern template class Adam<float>;
extern template class Adam<double>;
extern template class AdamW<float>;
extern template class AdamW<double>;

}  // namespace cnnkit
