// Each built-in layer as the spec the layer factory builds it from, and a graph as a description.
#include "cnnkit/model/network_description.hpp"

#include <stdexcept>
#include <typeinfo>
#include <utility>

#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/average_pooling.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/concat.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/dropout.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/leaky_relu.hpp"
#include "cnnkit/layers/normalize.hpp"
#include "cnnkit/layers/pooling.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/layers/sigmoid.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/layers/tanh.hpp"
#include "cnnkit/registry.hpp"
#include "model/description_checks.hpp"

namespace cnnkit {

namespace {

// Whether the layer is exactly of class L: a user's subclass of a built-in may behave otherwise.
template <template <typename> class L, typename T>
const L<T>* exactly(const Layer<T>& layer) {
  return typeid(layer) == typeid(L<T>) ? static_cast<const L<T>*>(&layer) : nullptr;
}

}  // namespace

template <typename T>
std::optional<LayerSpec> describe_layer(const Layer<T>& layer) {
  LayerSpec spec;
  spec.type = layer.type();
  if (const auto* conv = exactly<Conv>(layer)) {
    spec.kernels = conv->num_kernels();
    spec.kernel = Shape(conv->convolution_shape().begin() + 1, conv->convolution_shape().end());
    spec.stride = conv->stride_shape();
    spec.padding = conv->options().padding;
    spec.dilation = conv->options().dilation;
    spec.groups = conv->options().groups;
  } else if (const auto* dropout = exactly<Dropout>(layer)) {
    spec.p = dropout->probability();
  } else if (const auto* normalization = exactly<Normalize>(layer)) {
    spec.mean = normalization->mean();
    spec.standard_deviation = normalization->standard_deviation();
  } else if (const auto* pooling = exactly<Pooling>(layer)) {
    spec.window = pooling->pooling_shape();
    spec.stride = pooling->stride_shape();
  } else if (const auto* average = exactly<AveragePooling>(layer)) {
    spec.window = average->pooling_shape();
    spec.stride = average->stride_shape();
  } else if (const auto* fully_connected = exactly<FullyConnected>(layer)) {
    spec.outputs = fully_connected->output_size();
  } else if (const auto* leaky = exactly<LeakyReLU>(layer)) {
    spec.slope = static_cast<double>(leaky->slope());
  } else if (const auto* norm = exactly<BatchNorm>(layer)) {
    spec.momentum = norm->momentum();
    spec.epsilon = norm->epsilon();
  } else if (!exactly<GlobalAveragePooling>(layer) && !exactly<Flatten>(layer) &&
             !exactly<ReLU>(layer) && !exactly<Sigmoid>(layer) && !exactly<TanH>(layer) &&
             !exactly<SoftMax>(layer) && !exactly<Add>(layer) && !exactly<Concat>(layer)) {
    const LayerType<T>* user = find_layer_type<T>(layer.type());
    if (user == nullptr || !user->describe) return std::nullopt;
    std::optional<LayerSpec> described = user->describe(layer);
    if (described) described->type = layer.type();
    return described;
  }
  return spec;
}

template <typename T>
ModelDescription describe_network(const Graph<T>& graph, const Loss<T>& loss,
                                  const Shape& input_shape, const std::string& name) {
  ModelDescription description;
  description.name = name;
  description.input_shape = input_shape;
  description.loss = loss.type();
  description.loss_reduction = to_string(loss.reduction());
  bool optimizer_found = false;
  for (std::size_t i = 0; i < graph.size(); ++i) {
    const Layer<T>& layer = graph.layer(i);
    std::optional<LayerSpec> spec = describe_layer(layer);
    if (!spec) {
      throw std::invalid_argument("describe_network: node '" + graph.name(i) + "' (" +
                                  layer.type() +
                                  "): expected a layer a description can hold (a built-in "
                                  "layer), got one no spec describes");
    }
    const std::string default_name = "layer" + std::to_string(i);
    const std::vector<std::string> default_inputs{i == 0 ? std::string(Graph<T>::kInput)
                                                         : graph.name(i - 1)};
    if (graph.name(i) != default_name) spec->name = graph.name(i);
    if (graph.inputs(i) != default_inputs) spec->inputs = graph.inputs(i);
    description.layers.push_back(std::move(*spec));
    for (const Parameter<T>* parameter : layer.parameters()) {
      if (optimizer_found || !parameter->optimizer) continue;
      if (const std::optional<OptimizerSpec> optimizer =
              describe_optimizer(*parameter->optimizer)) {
        description.optimizer = *optimizer;
        optimizer_found = true;
      }
    }
  }
  validate(description);
  return description;
}

template <typename T>
Model<T> to_model(Graph<T>&& graph, const Loss<T>& loss, const Shape& input_shape,
                  const std::string& name) {
  Model<T> model{describe_network(graph, loss, input_shape, name), std::move(graph),
                 build_loss<T>(loss.type())};
  model.graph.set_context("model '" + name + "': ");
  model.graph.build();
  return model;
}

template <typename T>
Model<T> to_model(NeuralNetwork<T>&& network, const Shape& input_shape, const std::string& name) {
  if (network.loss_layer() == nullptr) {
    throw std::invalid_argument(
        "to_model: expected a NeuralNetwork with a loss layer (set_loss_layer), got none");
  }
  const Loss<T>& loss = *network.loss_layer();
  return to_model(std::move(network.graph()), loss, input_shape, name);
}

template std::optional<LayerSpec> describe_layer<float>(const Layer<float>&);
template std::optional<LayerSpec> describe_layer<double>(const Layer<double>&);
template ModelDescription describe_network<float>(const Graph<float>&, const Loss<float>&,
                                                  const Shape&, const std::string&);
template ModelDescription describe_network<double>(const Graph<double>&, const Loss<double>&,
                                                   const Shape&, const std::string&);
template Model<float> to_model<float>(Graph<float>&&, const Loss<float>&, const Shape&,
                                      const std::string&);
template Model<double> to_model<double>(Graph<double>&&, const Loss<double>&, const Shape&,
                                        const std::string&);
template Model<float> to_model<float>(NeuralNetwork<float>&&, const Shape&, const std::string&);
template Model<double> to_model<double>(NeuralNetwork<double>&&, const Shape&, const std::string&);

}  // namespace cnnkit
