// NeuralNetwork: the lecture's interface to the engine (graph.hpp), a chain of layers between a
// data layer and a loss. It hands every trainable layer its own optimizer copies and initializes
// it from the two initializers as the layer is appended, then trains top to bottom: next batch ->
// forward through every layer -> loss -> backward (gradients) -> update phase -> optimizers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cnnkit/data_layer.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layer.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/step_context.hpp"

namespace cnnkit {

template <typename T>
class NeuralNetwork {
 public:
  NeuralNetwork(const Optimizer<T>& optimizer, const Initializer<T>& weights_init,
                const Initializer<T>& bias_init);

  // A trainable layer gets its own optimizer copies and is initialized here.
  void append_layer(std::unique_ptr<Layer<T>> layer);
  const std::vector<Layer<T>*>& layers() const { return graph_.layers(); }
  // The engine the layers run on (node i is "layer{i}").
  Graph<T>& graph() { return graph_; }

  void set_data_layer(std::unique_ptr<DataLayer<T>> data_layer);
  void set_loss_layer(std::unique_ptr<Loss<T>> loss_layer);
  DataLayer<T>* data_layer() const { return data_layer_.get(); }
  Loss<T>* loss_layer() const { return loss_layer_.get(); }

  // Next batch through every layer and the loss; returns the loss of that batch.
  T forward();
  // Error from the loss back through every layer (gradients only), then the graph's update phase
  // and every parameter's optimizer.
  void backward();
  // The seed of the layers' keyed random numbers (Dropout's masks; step_context.hpp), 0 until set.
  // Each forward() is one step: the first is step 0, and every forward() advances it.
  void set_seed(std::uint64_t seed) { step_context_.seed = seed; }
  std::uint64_t step() const { return step_context_.step; }

  // forward + backward `iterations` times, recording each iteration's loss.
  void train(std::size_t iterations);
  const std::vector<T>& loss() const { return loss_; }

  // The layers (no loss, no update): the network's prediction for `input`; with a loss that takes
  // logits (SoftmaxCrossEntropyLoss), its probabilities.
  Tensor<T> test(const Tensor<T>& input);

 private:
  std::unique_ptr<Optimizer<T>> optimizer_;
  std::unique_ptr<Initializer<T>> weights_init_;
  std::unique_ptr<Initializer<T>> bias_init_;
  Graph<T> graph_;
  std::unique_ptr<DataLayer<T>> data_layer_;
  std::unique_ptr<Loss<T>> loss_layer_;
  Tensor<T> label_;        // the label of the batch forward() drew, for backward()
  Tensor<T> spent_input_;  // the last backward()'s input error: a buffer for the data layer
  std::vector<T> loss_;    // one entry per train() iteration
  StepContext step_context_;  // the step the next forward() is
};

extern template class NeuralNetwork<float>;
extern template class NeuralNetwork<double>;

}  // namespace cnnkit
