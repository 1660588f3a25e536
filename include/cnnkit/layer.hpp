// The layer contract.
//
// A layer writes two methods, the lecture's forward() and backward():
// - forward(input) returns the output for a batch: a new tensor, every element assigned. In the
//   training phase it keeps what backward() needs (a copy of the input, a mask, the output).
// - backward(error_tensor) takes dLoss/dOutput, shaped like the last output, and returns
//   dLoss/dInput, shaped like the last input, every element assigned, computed with the weights
//   forward() used. A trainable layer also assigns (never adds to) each parameter's gradient
//   and then calls apply_updates(), which lets each parameter's optimizer update it (inside the
//   engine, graph.hpp, updates are deferred: backward() computes gradients only and the engine
//   runs the optimizers after the whole backward pass).
// Between calls a layer keeps only what the next backward() needs and its own workspaces; the
// output and the input error belong to the caller.
//
// What the base class does for it:
// - the calls' order: backward() needs a fresh training-phase forward(); a second backward()
//   after one forward(), a backward() before any forward() or after a testing-phase forward()
//   throws std::logic_error. The hand-over forms below check it, and the engine (graph.hpp) and
//   check_layer call those; the built-in layers check their const& forms too, and a user
//   layer may do the same with note_forward() and require_fresh_forward() / note_backward();
// - the hand-over forms forward(Tensor&&) and backward(Tensor&&), which the network calls as it
//   passes each result on: by default they call the const& forms and recycle the tensor's buffer
//   (new_output, new_input_error), so a layer that writes only the two methods above needs to
//   know nothing about buffers;
// - the testing phase (inference: forward() need keep nothing), input_error_needed(), freezing,
//   and one optimizer copy per parameter (set_optimizer).
// Optional: type() (default "UserLayer"), output_shape() (default: the input shape, right for
// element-wise layers; a layer that changes the shape overrides it), forward_flops(), and, for a
// trainable layer, parameters() and initialize(). A layer with state that is not trained but
// belongs to the model (BatchNorm's running statistics) returns it from buffers(): forward() may
// change it in the training phase, gradients never do, and model files save it beside the
// parameters. check_layer (check_layer.hpp) runs a layer through this contract.
//
// A derived layer that overrides the const& forms says `using Layer<T>::forward;` (and backward)
// to call the hand-over forms on its own type; a layer that can compute in the handed-over
// tensor overrides forward_handed_over / backward_handed_over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/initializers.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/parameter.hpp"
#include "cnnkit/spare_buffer.hpp"
#include "cnnkit/step_context.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

// A tensor of a layer's state by name (see Layer::buffers).
template <typename T>
struct LayerBuffer {
  std::string name;  // unique within the layer, e.g. "running_mean"
  Tensor<T>* value;
};

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;

  // The two methods every layer writes (see the contract above).
  virtual Tensor<T> forward(const Tensor<T>& input) = 0;
  virtual Tensor<T> backward(const Tensor<T>& error_tensor) = 0;

  // The same results for a tensor the caller no longer needs, with the calls' order checked:
  // what the engine (graph.hpp) calls. They run forward_handed_over / backward_handed_over.
  Tensor<T> forward(Tensor<T>&& input) {
    Tensor<T> output = forward_handed_over(std::move(input));
    note_forward();
    return output;
  }
  Tensor<T> backward(Tensor<T>&& error_tensor) {
    require_fresh_forward();
    Tensor<T> input_error = backward_handed_over(std::move(error_tensor));
    note_backward();
    return input_error;
  }

  // Short type name used in messages, summaries and model files ("Conv", "ReLU", ...).
  virtual std::string type() const { return "UserLayer"; }

  // The shape forward() returns for an input of this shape (batch axis included); throws
  // std::invalid_argument, as forward() would, when the input shape does not fit the layer.
  // By default the input shape (an element-wise layer).
  virtual Shape output_shape(const Shape& input_shape) const { return input_shape; }

  // Multiply-adds counted twice, for one forward pass over an input of this shape.
  virtual std::size_t forward_flops(const Shape& input_shape) const;

  // The trainable tensors, in a fixed order (weights first, then bias); empty if none.
  virtual std::vector<Parameter<T>*> parameters() { return {}; }
  std::vector<const Parameter<T>*> parameters() const;

  // The state that is not trained but must be kept with the parameters (BatchNorm's running
  // statistics), in a fixed order; empty if none. No gradient, no optimizer: forward() updates
  // it in the training phase and reads it in the testing phase.
  virtual std::vector<LayerBuffer<T>> buffers() { return {}; }

  bool trainable() const { return !parameters().empty(); }
  std::size_t parameter_count() const;

  // Fills the weights and the bias from the two initializers, each called with the layer's
  // fan_in and fan_out (no-op where not trainable). NeuralNetwork and build_model call it before
  // training; a trainable layer overrides it.
  virtual void initialize(Initializer<T>& weights_init, Initializer<T>& bias_init);

  // Gives every parameter its own copy of the prototype (no-op where not trainable).
  void set_optimizer(const Optimizer<T>& prototype);

  // A frozen layer still passes errors down but never changes its parameters.
  void set_frozen(bool frozen);

  // Whether backward() must compute the error for the layer below (on by default). Nothing
  // reads the error for a network's input: the engine (graph.hpp) turns it off for the layers
  // that read only the graph's input. A layer that can skip the work (Conv, FullyConnected) then returns a tensor of
  // the input's shape with unspecified values from backward() (a buffer for the caller to
  // reuse); the others compute the error anyway.
  void set_input_error_needed(bool needed) { input_error_needed_ = needed; }
  bool input_error_needed() const { return input_error_needed_; }

  // Whether apply_updates() is left to the caller. A layer used on its own updates its parameters
  // at the end of backward() (the lecture's behaviour); the engine (graph.hpp) defers that, so
  // backward() computes gradients only and the engine runs the update phase and the optimizers
  // once the whole backward pass is done.
  void set_updates_deferred(bool deferred) { updates_deferred_ = deferred; }
  bool updates_deferred() const { return updates_deferred_; }

  // Hands back an output of this layer that the caller is done with: the next forward() may
  // write its result into that buffer. The engine does it in the testing phase, where no error
  // comes back to recycle (see new_output).
  void recycle_output(Tensor<T>&& spent) { output_spare_.give(std::move(spent)); }
  // Takes that buffer back (empty if the layer has none): the engine lends a layer a buffer for
  // one testing-phase forward() and takes back what it did not use.
  Tensor<T> release_output_spare() { return output_spare_.release(); }

  // Testing phase: forward() skips storing what backward() needs (inference only).
  void set_testing_phase(bool testing) { testing_phase_ = testing; }
  bool testing_phase() const { return testing_phase_; }

  // The training step the next training-phase forward() belongs to (step_context.hpp), set by
  // the engine (Graph::set_step_context) before the step's forward pass. A layer that draws random
  // numbers (Dropout) keys them by it; the others ignore it.
  virtual void set_step_context(const StepContext& /*context*/) {}

 protected:
  Layer() = default;
  Layer(const Layer&) = default;
  Layer& operator=(const Layer&) = default;
  Layer(Layer&&) = default;
  Layer& operator=(Layer&&) = default;

  // The hand-over forms' work. By default the const& forms, after which the given tensor's
  // buffer is recycled (see new_output and new_input_error).
  virtual Tensor<T> forward_handed_over(Tensor<T>&& input) {
    Tensor<T> output = forward(std::as_const(input));
    if (!testing_phase_) recycle_input(std::move(input));
    return output;
  }
  virtual Tensor<T> backward_handed_over(Tensor<T>&& error_tensor) {
    Tensor<T> input_error = backward(std::as_const(error_tensor));
    recycle_error(std::move(error_tensor));
    return input_error;
  }

  // For backward(): apply every parameter's optimizer once its gradient is complete (a no-op while
  // updates are deferred to the engine).
  void apply_updates();

  // The calls' order for a layer's own const& forms (the built-in layers use them; a user layer
  // may): forward() ends with note_forward(); backward() starts with require_fresh_forward(),
  // which throws std::logic_error unless a training-phase forward() came since the last
  // backward(), and ends with note_backward(). A backward() that throws on its arguments leaves
  // the forward() fresh.
  void note_forward() noexcept { pass_ = testing_phase_ ? Pass::testing : Pass::training; }
  void require_fresh_forward() const {
    if (pass_ != Pass::training) throw_order_error();
  }
  void note_backward() noexcept { pass_ = Pass::backward; }

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
  // What the last call left for backward(): nothing yet, a training-phase forward(), a
  // testing-phase one, or nothing any more (backward() used it).
  enum class Pass : std::uint8_t { none, training, testing, backward };

  // "Conv: expected forward() before backward(), got ..." for the current pass_.
  [[noreturn]] void throw_order_error() const;

  // check_layer seeds the spare buffers with garbage to see that results are assigned in full.
  template <typename U>
  friend void seed_spare_buffers(Layer<U>& layer, Tensor<U>&& output_like,
                                 Tensor<U>&& input_error_like);

  bool testing_phase_ = false;
  bool input_error_needed_ = true;
  bool updates_deferred_ = false;
  Pass pass_ = Pass::none;
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
