// The layer contract. forward() maps a batch to a batch and keeps what backward() needs;
// backward() takes the error tensor (dLoss/dOutput, shaped like the last output), returns the
// error for the layer below (dLoss/dInput, shaped like the last input) computed with the weights
// that forward() used, and only then lets each parameter's optimizer update it.
// In the testing phase (the lecture's phase for inference) forward() computes the same output
// but keeps nothing for backward(); backward() after such a forward() throws std::logic_error.
// forward() and backward() also take a tensor the caller hands over (an rvalue, as the network
// passes each result on): a layer may then keep it or compute in its buffer instead of copying.
// A derived layer that overrides only the const& forms says `using Layer<T>::forward;` (and
// backward) so that the hand-over forms stay visible. A class derived from a built-in layer that
// overrides the const& forms of one that has hand-over forms (Conv, FullyConnected, ReLU,
// Flatten) must override those too: the network calls them.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/initializers.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/parameter.hpp"
#include "cnnkit/spare_buffer.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;

  // Short type name used in messages, summaries and model files ("Conv", "ReLU", ...).
  virtual std::string type() const = 0;

  virtual Tensor<T> forward(const Tensor<T>& input) = 0;
  virtual Tensor<T> backward(const Tensor<T>& error_tensor) = 0;
  // The same results for a tensor the caller no longer needs. By default the const& forms,
  // after which the given tensor's buffer is recycled (see new_output and new_input_error).
  virtual Tensor<T> forward(Tensor<T>&& input) {
    Tensor<T> output = forward(std::as_const(input));
    if (!testing_phase_) recycle_input(std::move(input));
    return output;
  }
  virtual Tensor<T> backward(Tensor<T>&& error_tensor) {
    Tensor<T> input_error = backward(std::as_const(error_tensor));
    recycle_error(std::move(error_tensor));
    return input_error;
  }

  // The shape forward() returns for an input of this shape (batch axis included); throws
  // std::invalid_argument, as forward() would, when the input shape does not fit the layer.
  virtual Shape output_shape(const Shape& input_shape) const = 0;

  // Multiply-adds counted twice, for one forward pass over an input of this shape.
  virtual std::size_t forward_flops(const Shape& input_shape) const;

  // The trainable tensors, in a fixed order (weights first, then bias); empty if none.
  virtual std::vector<Parameter<T>*> parameters() { return {}; }
  std::vector<const Parameter<T>*> parameters() const;

  bool trainable() const { return !parameters().empty(); }
  std::size_t parameter_count() const;

  // Fills the weights and the bias from the two initializers (no-op where not trainable).
  virtual void initialize(Initializer<T>& weights_init, Initializer<T>& bias_init);

  // Gives every parameter its own copy of the prototype (no-op where not trainable).
  void set_optimizer(const Optimizer<T>& prototype);

  // A frozen layer still passes errors down but never changes its parameters.
  void set_frozen(bool frozen);

  // Whether backward() must compute the error for the layer below (on by default). Nothing
  // reads the error for a network's input: NeuralNetwork and build_model turn it off for the
  // first layer. A layer that can skip the work (Conv, FullyConnected) then returns a tensor of
  // the input's shape with unspecified values from backward() (a buffer for the caller to
  // reuse); the others compute the error anyway.
  void set_input_error_needed(bool needed) { input_error_needed_ = needed; }
  bool input_error_needed() const { return input_error_needed_; }

  // Testing phase: forward() skips storing what backward() needs (inference only).
  void set_testing_phase(bool testing) { testing_phase_ = testing; }
  bool testing_phase() const { return testing_phase_; }

 protected:
  Layer() = default;
  Layer(const Layer&) = default;
  Layer& operator=(const Layer&) = default;
  Layer(Layer&&) = default;
  Layer& operator=(Layer&&) = default;

  // For backward(): apply every parameter's optimizer once its gradient is complete.
  void apply_updates();

  // For forward(): `kept` becomes the input for backward() (a copy of it, or the handed-over
  // tensor itself), or, in the testing phase, the empty default tensor (rank 1). The buffer
  // `kept` held before becomes the spare for the next input error (recycle_input).
  void keep_input(Tensor<T>& kept, const Tensor<T>& input);
  void keep_input(Tensor<T>& kept, Tensor<T>&& input);

  // Recycled buffers (spare_buffer.hpp), which keep the steady-state training step free of
  // allocations: the error tensor handed to backward() goes to recycle_error() (the default
  // hand-over backward does it), and the next forward() takes its result from new_output(); an
  // input forward() no longer needs goes to recycle_input() (the default hand-over forward
  // does it, and keep_input for the input it replaces), and the next backward() writes its
  // input error into new_input_error(). Both return tensors with indeterminate values, to be
  // written in full.
  Tensor<T> new_output(const Shape& shape) { return output_spare_.take(shape); }
  Tensor<T> new_input_error(const Shape& shape) { return input_error_spare_.take(shape); }
  void recycle_error(Tensor<T>&& error_tensor) { output_spare_.give(std::move(error_tensor)); }
  void recycle_input(Tensor<T>&& input) { input_error_spare_.give(std::move(input)); }

 private:
  bool testing_phase_ = false;
  bool input_error_needed_ = true;
  SpareBuffer<T> output_spare_;
  SpareBuffer<T> input_error_spare_;
};

// Puts every layer of a range into the testing phase for the scope's lifetime and then restores
// each layer's own phase (also when forward() throws).
template <typename T>
class TestingPhaseScope {
 public:
  template <typename LayerRange>
  explicit TestingPhaseScope(const LayerRange& layers) {
    for (const auto& layer : layers) {
      saved_.push_back({&*layer, layer->testing_phase()});
      layer->set_testing_phase(true);
    }
  }
  ~TestingPhaseScope() {
    for (const auto& [layer, testing] : saved_) layer->set_testing_phase(testing);
  }
  TestingPhaseScope(const TestingPhaseScope&) = delete;
  TestingPhaseScope& operator=(const TestingPhaseScope&) = delete;

 private:
  struct Saved {
    Layer<T>* layer;
    bool testing;
  };
  std::vector<Saved> saved_;
};

extern template class Layer<float>;
extern template class Layer<double>;

}  // namespace cnnkit
