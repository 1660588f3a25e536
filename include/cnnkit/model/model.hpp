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

  // The prediction for a batch (batch, input_shape...): the graph in the testing phase.
  // Throws std::invalid_argument when the input does not have the description's input shape.
  Tensor<T> forward(const Tensor<T>& input);

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
template <typename T>
std::unique_ptr<Loss<T>> build_loss(const std::string& type);

extern template struct Model<float>;
extern template struct Model<double>;
extern template Model<float> build_model<float>(const ModelDescription&, const Limits&);
extern template Model<double> build_model<double>(const ModelDescription&, const Limits&);
extern template std::unique_ptr<NeuralNetwork<float>> build_network<float>(const ModelDescription&,
                                                                           const Limits&);
extern template std::unique_ptr<NeuralNetwork<double>> build_network<double>(
    const ModelDescription&, const Limits&);
extern template std::unique_ptr<Optimizer<float>> build_optimizer<float>(const OptimizerSpec&);
extern template std::unique_ptr<Optimizer<double>> build_optimizer<double>(const OptimizerSpec&);
extern template std::optional<OptimizerSpec> describe_optimizer<float>(const Optimizer<float>&);
extern template std::optional<OptimizerSpec> describe_optimizer<double>(const Optimizer<double>&);
extern template std::unique_ptr<Initializer<float>> build_initializer<float>(
    const InitializerSpec&);
extern template std::unique_ptr<Initializer<double>> build_initializer<double>(
    const InitializerSpec&);
extern template std::unique_ptr<Loss<float>> build_loss<float>(const std::string&);
extern template std::unique_ptr<Loss<double>> build_loss<double>(const std::string&);

}  // namespace cnnkit
