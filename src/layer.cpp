#include "cnnkit/layer.hpp"

#include <stdexcept>

namespace cnnkit {

template <typename T>
void Layer<T>::throw_order_error() const {
  std::string got;
  switch (pass_) {
    case Pass::none:
      got = "backward() first";
      break;
    case Pass::testing:
      got = "backward() after a testing-phase forward(), which keeps nothing for it";
      break;
    case Pass::training:  // not an error: callers throw only for the other three
    case Pass::backward:
      got = "a second backward() after one forward()";
      break;
  }
  throw std::logic_error(type() +
                         ": expected a fresh forward() before backward() in the training phase, "
                         "got " +
                         got);
}

template <typename T>
std::size_t Layer<T>::forward_flops(const Shape& /*input_shape*/) const {
  return 0;
}

template <typename T>
std::vector<const Parameter<T>*> Layer<T>::parameters() const {
  // parameters() only hands out pointers; asking for them does not change the layer.
  const auto mutable_view = const_cast<Layer*>(this)->parameters();
  return {mutable_view.begin(), mutable_view.end()};
}

template <typename T>
std::size_t Layer<T>::parameter_count() const {
  std::size_t count = 0;
  for (const Parameter<T>* parameter : parameters()) count += parameter->value.size();
  return count;
}

template <typename T>
void Layer<T>::initialize(Initializer<T>& /*weights_init*/, Initializer<T>& /*bias_init*/) {}

template <typename T>
void Layer<T>::set_optimizer(const Optimizer<T>& prototype) {
  for (Parameter<T>* parameter : parameters()) parameter->set_optimizer(prototype);
}

template <typename T>
void Layer<T>::set_frozen(bool frozen) {
  for (Parameter<T>* parameter : parameters()) parameter->frozen = frozen;
}

template <typename T>
void Layer<T>::keep_input(Tensor<T>& kept, const Tensor<T>& input) {
  if (testing_phase_) {
    recycle_input(std::move(kept));
    kept = Tensor<T>();
  } else {
    kept = input;  // copy-assignment reuses the buffer once the batch shape is steady
  }
}

template <typename T>
void Layer<T>::keep_input(Tensor<T>& kept, Tensor<T>&& input) {
  recycle_input(std::move(kept));
  kept = testing_phase_ ? Tensor<T>() : std::move(input);  // no copy
}

template <typename T>
void Layer<T>::apply_updates() {
  if (updates_deferred_) return;
  for (Parameter<T>* parameter : parameters()) parameter->apply_update();
}

template class Layer<float>;
template class Layer<double>;

}  // namespace cnnkit
