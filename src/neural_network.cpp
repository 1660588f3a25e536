// NeuralNetwork: the training loop of the lecture, read top to bottom:
// next batch -> forward through every layer -> loss -> loss backward -> layers backward in
// reverse (gradients only) -> update phase -> each parameter's own optimizer copy. The layers run
// on the engine (graph.hpp); the step itself is training_step.hpp.
#include "cnnkit/neural_network.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "check.hpp"
#include "cnnkit/training_step.hpp"

namespace cnnkit {

template <typename T>
NeuralNetwork<T>::NeuralNetwork(const Optimizer<T>& optimizer, const Initializer<T>& weights_init,
                                const Initializer<T>& bias_init)
    : optimizer_(optimizer.clone()),
      weights_init_(weights_init.clone()),
      bias_init_(bias_init.clone()) {
  graph_.set_context("NeuralNetwork: ");
}

template <typename T>
void NeuralNetwork<T>::append_layer(std::unique_ptr<Layer<T>> layer) {
  detail::require(layer != nullptr, "NeuralNetwork::append_layer", "a layer", "nullptr");
  if (layer->trainable()) {
    // Lecture: the NeuralNetwork distributes the initializers and the optimizer; every
    // parameter gets its own optimizer copy so that its state is its own.
    layer->initialize(*weights_init_, *bias_init_);
    layer->set_optimizer(*optimizer_);
  }
  // Built at once: the graph tells the first layer that nothing reads the error for the
  // network's input.
  graph_.append(std::move(layer));
  graph_.build();
}

template <typename T>
void NeuralNetwork<T>::set_data_layer(std::unique_ptr<DataLayer<T>> data_layer) {
  detail::require(data_layer != nullptr, "NeuralNetwork::set_data_layer", "a data layer",
                  "nullptr");
  data_layer_ = std::move(data_layer);
}

template <typename T>
void NeuralNetwork<T>::set_loss_layer(std::unique_ptr<Loss<T>> loss_layer) {
  detail::require(loss_layer != nullptr, "NeuralNetwork::set_loss_layer", "a loss layer",
                  "nullptr");
  loss_layer_ = std::move(loss_layer);
}

template <typename T>
T NeuralNetwork<T>::forward() {
  const char* const caller = "NeuralNetwork::forward";
  if (!data_layer_) {
    throw std::logic_error(std::string(caller) +
                           ": expected a data layer (set_data_layer), got none");
  }
  if (!loss_layer_) {
    throw std::logic_error(std::string(caller) +
                           ": expected a loss layer (set_loss_layer), got none");
  }
  if (graph_.empty()) {
    throw std::logic_error(std::string(caller) +
                           ": expected at least one layer (append_layer), got none");
  }

  // The buffers of the last batch go back to the data layer, which may fill the next one into
  // them: with the layers' own recycled buffers the steady-state step then allocates nothing.
  // That also leaves label_ empty: until this pass has reached the loss, backward() has nothing
  // consistent to start from (the layers may already hold this batch, the label the last one).
  data_layer_->recycle(Batch<T>{std::move(spent_input_), std::move(label_)});
  Batch<T> batch = data_layer_->next();
  graph_.set_step_context(step_context_);
  ++step_context_.step;
  const T loss =
      forward_and_loss(graph_, *loss_layer_, std::move(batch.input), batch.label, caller);
  label_ = std::move(batch.label);
  return loss;
}

template <typename T>
void NeuralNetwork<T>::backward() {
  // The label of the last forward() is what the loss's error starts from.
  detail::require_forward_done(!label_.empty(), "NeuralNetwork::backward");
  // The error for the input is of no use (the first layer skips it where it can), but its buffer
  // has the input's shape: the data layer gets it back for the next batch.
  spent_input_ = backward_and_update(graph_, *loss_layer_, label_);
}

template <typename T>
void NeuralNetwork<T>::train(std::size_t iterations) {
  for (std::size_t i = 0; i < iterations; ++i) {
    const T loss = forward();
    loss_.push_back(loss);
    // Users asked for a warning instead of silent NaN when training diverges: stop at the first
    // non-finite loss, before backward() spreads it into every weight. The iteration counts all
    // train() iterations of this network from 1 (the index into loss() plus one).
    if (!std::isfinite(loss)) {
      throw std::runtime_error(
          "NeuralNetwork: loss became " + std::string(std::isnan(loss) ? "NaN" : "inf") +
          " at iteration " + std::to_string(loss_.size()) +
          " (training diverged: try a smaller learning rate, or check the data for NaN/inf)");
    }
    backward();
  }
}

template <typename T>
Tensor<T> NeuralNetwork<T>::test(const Tensor<T>& input) {
  const char* const caller = "NeuralNetwork::test";
  if (graph_.empty()) {
    throw std::logic_error(std::string(caller) +
                           ": expected at least one layer (append_layer), got none");
  }
  // Inference only: no layer needs to keep its input for a backward pass. A loss that takes
  // logits turns them into probabilities (Loss::prediction_from).
  Tensor<T> output = graph_.infer(input);
  return loss_layer_ ? loss_layer_->prediction_from(std::move(output)) : output;
}

template class NeuralNetwork<float>;
template class NeuralNetwork<double>;

}  // namespace cnnkit
