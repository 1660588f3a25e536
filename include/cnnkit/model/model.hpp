// From a ModelDescription to objects that compute: the layers (sized by shape inference,
// initialized, each parameter with its own optimizer copy), the loss, and a NeuralNetwork for
// users of the lecture's interface.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "cnnkit/graph.hpp"
#include "cnnkit/initializers.hpp"
#include "cnnkit/layer.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/neural_network.hpp"
#include "cnnkit/optimizers.hpp"

namespace cnnkit {

// A description together with the layers built from it: what the trainer trains, model files hold
// and `cnnkit predict` uses.
template <typename T>
struct Model {
  ModelDescription description;
  Graph<T> graph;  // the layers, as the engine runs them (a chain: node i is "layer{i}")
  std::unique_ptr<Loss<T>> loss;

  // The prediction for a batch (batch, input_shape...): the graph in the testing phase, then the
  // loss's prediction_from (the softmax of the logits for SoftmaxCrossEntropy), so it is
  // probabilities for every classification loss. Throws std::invalid_argument when the input does
  // not have the description's input shape.
  Tensor<T> forward(const Tensor<T>& input);
  // The graph's output alone, what the loss takes (logits for SoftmaxCrossEntropy).
  Tensor<T> output(const Tensor<T>& input);

  // The prediction for one sample shaped like the description's input (no batch axis): the output
  // without a batch axis, e.g. (classes). Throws std::invalid_argument for another shape.
  Tensor<T> predict(const Tensor<T>& sample);
};

// Validates the description, builds its layers, initializes them from its initializers (the
// library's random engine: set_seed first for a repeatable model) and gives every parameter its
// own copy of its optimizer. The weights equal those of build_network with the same seed.
template <typename T>
Model<T> build_model(const ModelDescription& description,
                     const Limits& limits = Limits::from_environment());

// The description's update phase on a built graph whose parameters have their optimizers: gradient
// clipping (clip_norm), then the L2 penalty (weight_decay of every optimizer but AdamW) as
// update hooks, and for AdamW with decay_bias_and_norm false an optimizer without decay for the
// biases and normalisation parameters. build_model calls it; the learning-rate schedule is the
// trainer's (it knows the run's length).
template <typename T>
void add_update_phase(Graph<T>& graph, const ModelDescription& description);

// The same network as a NeuralNetwork (layers appended in order, loss set); the data layer is the
// caller's to set.
template <typename T>
std::unique_ptr<NeuralNetwork<T>> build_network(const ModelDescription& description,
                                                const Limits& limits = Limits::from_environment());

// The pieces, for callers that assemble their own loop. Each throws std::invalid_argument on an
// unknown type or a value its constructor rejects.
template <typename T>
std::unique_ptr<Optimizer<T>> build_optimizer(const OptimizerSpec& spec);
template <typename T>
std::unique_ptr<Initializer<T>> build_initializer(const InitializerSpec& spec);
// The inverse of build_optimizer: the spec of a built-in optimizer (its type and values, which
// build_optimizer turns into an equal one), or nullopt for one it cannot describe (a user
// optimizer).
template <typename T>
std::optional<OptimizerSpec> describe_optimizer(const Optimizer<T>& optimizer);
// reduction: "sum" or "mean" (std::invalid_argument otherwise).
template <typename T>
std::unique_ptr<Loss<T>> build_loss(const std::string& type, const std::string& reduction = "sum");

extern template struct Model<float>;
extern template struct Model<double>;
extern template Model<float> build_model<float>(const ModelDescription&, const Limits&);
extern template Model<double> build_model<double>(const ModelDescription&, const Limits&);
extern template std::unique_ptr<NeuralNetwork<float>> build_network<float>(const ModelDescription&,
                                                                           const Limits&);
extern template std::unique_ptr<NeuralNetwork<double>> build_network<double>(
    const ModelDescription&, const Limits&);
extern template void add_update_phase<float>(Graph<float>&, const ModelDescription&);
extern template void add_update_phase<double>(Graph<double>&, const ModelDescription&);
extern template std::unique_ptr<Optimizer<float>> build_optimizer<float>(const OptimizerSpec&);
extern template std::unique_ptr<Optimizer<double>> build_optimizer<double>(const OptimizerSpec&);
extern template std::optional<OptimizerSpec> describe_optimizer<float>(const Optimizer<float>&);
extern template std::optional<OptimizerSpec> describe_optimizer<double>(const Optimizer<double>&);
extern template std::unique_ptr<Initializer<float>> build_initializer<float>(
    const InitializerSpec&);
extern template std::unique_ptr<Initializer<double>> build_initializer<double>(
    const InitializerSpec&);
extern template std::unique_ptr<Loss<float>> build_loss<float>(const std::string&,
                                                               const std::string&);
extern template std::unique_ptr<Loss<double>> build_loss<double>(const std::string&,
                                                                 const std::string&);

}  // namespace cnnkit
