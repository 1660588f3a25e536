// Dropout(p), inverted: in the training phase each element is kept with probability 1 - p and
// scaled by 1 / (1 - p), else zeroed, so the expected output equals the input and the testing
// phase is the identity. backward() multiplies the error by the same mask.
//   forward:  y = m * x,  m = 1 / (1 - p) with probability 1 - p, else 0 (per element)
//   backward: E_{n-1} = m * E_n
// The mask of sample n comes from the keyed generator (keyed_random.hpp) under the key
// (seed, step, first_sample + n, stream) of the last set_step_context (the engine sets it before
// every training step; a layer used on its own draws as step 0 until told otherwise): the same
// seed gives the same masks on any thread count and for any split of the global batch.
#pragma once

#include <optional>
#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class Dropout : public Layer<T> {
 public:
  // Throws std::invalid_argument unless p is in [0, 1) (p = 1 would drop everything and scale by
  // infinity).
  explicit Dropout(double p);

  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;

  std::string type() const override { return "Dropout"; }
  std::size_t forward_flops(const Shape& input_shape) const override;
  void set_step_context(const StepContext& context) override { context_ = context; }

  double probability() const { return p_; }
  const StepContext& step_context() const { return context_; }
  // The mask of the last training-phase forward(): 0 or 1 / (1 - p) per element, in the input's
  // order; empty before one.
  const std::vector<T>& mask() const { return mask_; }

 protected:
  Tensor<T> forward_handed_over(Tensor<T>&& input) override;
  Tensor<T> backward_handed_over(Tensor<T>&& error_tensor) override;

 private:
  // output = mask * input (the two may be one buffer); draws the mask in the training phase, copies
  // in the testing phase.
  void run_forward(const Tensor<T>& input, T* output);
  void run_backward(const Tensor<T>& error_tensor, T* input_error) const;

  double p_;
  StepContext context_;
  std::vector<T> mask_;               // grows once; a steady batch shape reuses it
  std::optional<Shape> input_shape_;  // of the last training-phase input
};

extern template class Dropout<float>;
extern template class Dropout<double>;

}  // namespace cnnkit
