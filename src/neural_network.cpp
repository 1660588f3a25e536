// NeuralNetwork: the training loop of the lecture, read top to bottom:
// next batch -> forward through every layer -> loss -> loss backward -> layers backward in
// reverse (each layer's parameters update themselves with their own optimizer copies).
#include "cnnkit/neural_network.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "check.hpp"

namespace cnnkit {

namespace {

// The layer's own message, prefixed with where in the network it sits: a shape that does not
// chain is then reported as "layer 3 (Conv): ..." instead of a bare "Conv: ...".
// Input is a const& (the caller's tensor) or an rvalue (a result handed on, which the layer may
// keep or compute in without a copy).
template <typename T, typename Input>
Tensor<T> forward_layer(Layer<T>& layer, std::size_t index, Input&& input, const char* caller) {
  try {
    return layer.forward(std::forward<Input>(input));
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string(caller) + ": layer " + std::to_string(index) + " (" +
                                layer.type() + ") rejected its input: " + error.what());
  }
}

}  // namespace

template <typename T>
NeuralNetwork<T>::NeuralNetwork(const Optimizer<T>& optimizer, const Initializer<T>& weights_init,
                                const Initializer<T>& bias_init)
    : optimizer_(optimizer.clone()),
      weights_init_(weights_init.clone()),
      bias_init_(bias_init.clone()) {}

template <typename T>
void NeuralNetwork<T>::append_layer(std::unique_ptr<Layer<T>> layer) {
  detail::require(layer != nullptr, "NeuralNetwork::append_layer", "a layer", "nullptr");
  if (layer->trainable()) {
    // Lecture: the NeuralNetwork distributes the initializers and the optimizer; every
    // parameter gets its own optimizer copy so that its state is its own.
    layer->initialize(*weights_init_, *bias_init_);
    layer->set_optimizer(*optimizer_);
  }
  // Nothing reads the error for the network's input: the first layer may skip it.
  layer->set_input_error_needed(!layers_.empty());
  layers_.push_back(std::move(layer));
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
  if (layers_.empty()) {
    throw std::logic_error(std::string(caller) +
                           ": expected at least one layer (append_layer), got none");
  }

  // The buffers of the last batch go back to the data layer, which may fill the next one into
  // them: with the layers' own recycled buffers the steady-state step then allocates nothing.
  // That also leaves label_ empty: until this pass has reached the loss, backward() has nothing
  // consistent to start from (the layers may already hold this batch, the label the last one).
  data_layer_->recycle(Batch<T>{std::move(spent_input_), std::move(label_)});
  Batch<T> batch = data_layer_->next();
  Tensor<T> output = std::move(batch.input);
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    output = forward_layer(*layers_[i], i, std::move(output), caller);
  }
  T loss = 0;
  try {
    loss = loss_layer_->forward(std::move(output), batch.label);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string(caller) + ": loss (" + loss_layer_->type() +
                                ") rejected the prediction and label: " + error.what());
  }
  label_ = std::move(batch.label);
  return loss;
}

template <typename T>
void NeuralNetwork<T>::backward() {
  // The label of the last forward() is what the loss's error starts from.
  detail::require_forward_done(!label_.empty(), "NeuralNetwork::backward");
  Tensor<T> error_tensor = loss_layer_->backward(label_);
  for (auto layer = layers_.rbegin(); layer != layers_.rend(); ++layer) {
    error_tensor = (*layer)->backward(std::move(error_tensor));
  }
  // The error for the input is of no use (the first layer skips it where it can), but its buffer
  // has the input's shape: the data layer gets it back for the next batch.
  spent_input_ = std::move(error_tensor);
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
  if (layers_.empty()) {
    throw std::logic_error(std::string(caller) +
                           ": expected at least one layer (append_layer), got none");
  }
  // Inference only: no layer needs to keep its input for a backward pass.
  const TestingPhaseScope<T> testing(layers_);
  Tensor<T> output = forward_layer(*layers_.front(), 0, input, caller);
  for (std::size_t i = 1; i < layers_.size(); ++i) {
    output = forward_layer(*layers_[i], i, std::move(output), caller);
  }
  return output;
}

template class NeuralNetwork<float>;
template class NeuralNetwork<double>;

}  // namespace cnnkit
