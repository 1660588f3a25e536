// Any network as a description and a Model: a Graph or NeuralNetwork built in C++ describes
// itself (each built-in layer as the LayerSpec build_model builds it from), so it can be saved and
// loaded (model files hold a description), trained by epochs with callbacks (train) and evaluated
// (evaluate) without a description written by hand.
//   Graph<float> graph;
//   graph.add("conv", std::make_unique<Conv<float>>(...), {"input"}) ... ;
//   Model<float> model = to_model(std::move(graph), CrossEntropyLoss<float>(), {1, 8, 8});
//   train(model, train_set, test_set, options, state);
//   save_model("net.safetensors", model.description, model.graph.layers());
#pragma once

#include <optional>
#include <string>

#include "cnnkit/graph.hpp"
#include "cnnkit/layer.hpp"
#include "cnnkit/loss.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/neural_network.hpp"

namespace cnnkit {

// The spec from which build_model builds a layer like this one (its type and values; name and
// inputs left empty), or nullopt for a layer no spec describes (a user layer).
template <typename T>
std::optional<LayerSpec> describe_layer(const Layer<T>& layer);

// The description of a graph: its nodes in the order they were added, each layer described, with
// its node's name and inputs (left out where they are a chain's defaults, "layer{i}" reading the
// node before); the optimizer of the first parameter that has a built-in one (checkpoints record
// any parameter whose optimizer differs); the loss's type; default initializers (the weights are
// the graph's). Throws std::invalid_argument naming the node that cannot be described (a user
// layer) or that reads a node added after it, and whatever validate() finds.
template <typename T>
ModelDescription describe_network(const Graph<T>& graph, const Loss<T>& loss,
                                  const Shape& input_shape, const std::string& name = "network");

// The graph (moved in, its layers and weights as they are) with a loss of the same type as a
// Model whose description is describe_network's.
template <typename T>
Model<T> to_model(Graph<T>&& graph, const Loss<T>& loss, const Shape& input_shape,
                  const std::string& name = "network");
// The same for a NeuralNetwork and its loss layer; the network is left without layers.
template <typename T>
Model<T> to_model(NeuralNetwork<T>&& network, const Shape& input_shape,
                  const std::string& name = "network");

extern template std::optional<LayerSpec> describe_layer<float>(const Layer<float>&);
extern template std::optional<LayerSpec> describe_layer<double>(const Layer<double>&);
extern template ModelDescription describe_network<float>(const Graph<float>&, const Loss<float>&,
                                                         const Shape&, const std::string&);
extern template ModelDescription describe_network<double>(const Graph<double>&, const Loss<double>&,
                                                          const Shape&, const std::string&);
extern template Model<float> to_model<float>(Graph<float>&&, const Loss<float>&, const Shape&,
                                             const std::string&);
extern template Model<double> to_model<double>(Graph<double>&&, const Loss<double>&, const Shape&,
                                               const std::string&);
extern template Model<float> to_model<float>(NeuralNetwork<float>&&, const Shape&,
                                             const std::string&);
extern template Model<double> to_model<double>(NeuralNetwork<double>&&, const Shape&,
                                               const std::string&);

}  // namespace cnnkit
