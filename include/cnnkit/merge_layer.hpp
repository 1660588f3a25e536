// MergeLayer: a layer with several inputs (Add, Concat), which only the engine (graph.hpp) feeds.
//
// The engine calls the list forms: forward(inputs) returns the output for the batch (a new
// tensor, every element assigned); backward(error_tensor, input_errors) assigns dLoss/dInput k to
// input_errors[k], shaped like input k of the last forward, every element assigned. The engine
// hands in input_errors holding buffers of earlier steps: a merge layer reshapes each with
// Tensor::uninitialized(shape, std::move(buffer)) so the steady-state step allocates nothing.
// With one input a merge layer is the identity, which is what the single-input forms of Layer
// compute.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class MergeLayer : public Layer<T> {
 public:
  // The output for these inputs (at least one); keeps what backward() needs (their shapes).
  Tensor<T> forward(std::span<const Tensor<T>* const> inputs);
  // Assigns every input's error; throws std::logic_error without a fresh training-phase forward.
  void backward(Tensor<T>&& error_tensor, std::span<Tensor<T>> input_errors);

  // The output shape for inputs of these shapes; throws std::invalid_argument as forward() would.
  virtual Shape output_shape(std::span<const Shape> input_shapes) const = 0;
  Shape output_shape(const Shape& input_shape) const override { return input_shape; }

  // The single-input forms (the identity): a copy of the input, a copy of the error.
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override;
  Tensor<T> backward(const Tensor<T>& error_tensor) override;

 protected:
  // The arithmetic of the two list forms; the shapes of the inputs are checked already.
  virtual void merge(std::span<const Tensor<T>* const> inputs, Tensor<T>& output) = 0;
  virtual void split(const Tensor<T>& error_tensor, std::span<Tensor<T>> input_errors) = 0;

  // The input shapes of the last training-phase forward().
  const std::vector<Shape>& input_shapes() const { return input_shapes_; }

 private:
  std::vector<Shape> input_shapes_;  // grows once to the fan-in
};

extern template class MergeLayer<float>;
extern template class MergeLayer<double>;

}  // namespace cnnkit
