// Builders: a validated description becomes layers, initializers, an optimizer and a loss.
#include "cnnkit/model/model.hpp"

#include <cmath>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <utility>

#include "cnnkit/gradient_clipping.hpp"
#include "cnnkit/registry.hpp"
#include "cnnkit/weight_decay.hpp"
#include "model/description_checks.hpp"

namespace cnnkit {

template <typename T>
Tensor<T> Model<T>::forward(const Tensor<T>& input) {
  return loss->prediction_from(output(input));
}

template <typename T>
Tensor<T> Model<T>::output(const Tensor<T>& input) {
  Shape expected{input.rank() > 0 ? input.dim(0) : 0};
  expected.insert(expected.end(), description.input_shape.begin(), description.input_shape.end());
  if (input.shape() != expected || input.dim(0) == 0) {
    throw std::invalid_argument("model '" + description.name + "': expected input [batch, " +
                                to_string(description.input_shape).substr(1) + ", got " +
                                to_string(input.shape()));
  }
  // Always the testing phase: a prediction keeps nothing for a backward pass, and a layer that
  // behaves differently in training (dropout, batch normalisation) predicts as it should.
  return graph.infer(input);
}

template <typename T>
Tensor<T> Model<T>::predict(const Tensor<T>& sample) {
  if (sample.shape() != description.input_shape) {
    throw std::invalid_argument("model '" + description.name + "': expected one sample of shape " +
                                to_string(description.input_shape) + " (no batch axis), got " +
                                to_string(sample.shape()));
  }
  Shape batch{1};
  batch.insert(batch.end(), sample.shape().begin(), sample.shape().end());
  Tensor<T> output = forward(sample.reshaped(batch));
  const Shape one_output(output.shape().begin() + 1, output.shape().end());
  return std::move(output).reshaped(one_output);
}

template <typename T>
std::unique_ptr<Optimizer<T>> build_optimizer(const OptimizerSpec& spec) {
  const T learning_rate = static_cast<T>(spec.learning_rate);
  if (spec.type == "Adam") {
    return std::make_unique<Adam<T>>(learning_rate, static_cast<T>(spec.mu),
                                     static_cast<T>(spec.rho), static_cast<T>(spec.epsilon));
  }
  if (spec.type == "AdamW") {
    return std::make_unique<AdamW<T>>(learning_rate, static_cast<T>(spec.mu),
                                      static_cast<T>(spec.rho), static_cast<T>(spec.epsilon),
                                      static_cast<T>(spec.weight_decay));
  }
  if (spec.type == "Sgd") return std::make_unique<Sgd<T>>(learning_rate);
  if (spec.type == "SgdWithMomentum") {
    return std::make_unique<SgdWithMomentum<T>>(learning_rate, static_cast<T>(spec.momentum));
  }
  if (const OptimizerType<T>* user = find_optimizer_type<T>(spec.type)) {
    std::unique_ptr<Optimizer<T>> optimizer = user->make(spec);
    if (!optimizer) {
      throw std::invalid_argument("optimizer (" + spec.type +
                                  "): expected its maker to return an optimizer, got none");
    }
    return optimizer;
  }
  throw std::invalid_argument("optimizer: unknown type '" + spec.type +
                              "' (known: " + detail::builtin_optimizer_types() +
                              detail::registry_hint("optimizer", "register_optimizer") + ")");
}

namespace detail {
std::string builtin_optimizer_types() {
  return "Adam, AdamW, Sgd, SgdWithMomentum";
}
}  // namespace detail

template <typename T>
std::optional<OptimizerSpec> describe_optimizer(const Optimizer<T>& optimizer) {
  // The exact classes only: a user's subclass of Adam may update differently.
  OptimizerSpec spec;
  spec.type = optimizer.name();
  if (typeid(optimizer) == typeid(AdamW<T>)) {
    const auto& adamw = static_cast<const AdamW<T>&>(optimizer);
    spec.learning_rate = adamw.learning_rate();
    spec.mu = adamw.mu();
    spec.rho = adamw.rho();
    spec.epsilon = adamw.epsilon();
    spec.weight_decay = adamw.weight_decay();
  } else if (typeid(optimizer) == typeid(Adam<T>)) {
    const auto& adam = static_cast<const Adam<T>&>(optimizer);
    spec.learning_rate = adam.learning_rate();
    spec.mu = adam.mu();
    spec.rho = adam.rho();
    spec.epsilon = adam.epsilon();
  } else if (typeid(optimizer) == typeid(SgdWithMomentum<T>)) {
    const auto& momentum = static_cast<const SgdWithMomentum<T>&>(optimizer);
    spec.learning_rate = momentum.learning_rate();
    spec.momentum = momentum.momentum();
  } else if (typeid(optimizer) == typeid(Sgd<T>)) {
    spec.learning_rate = static_cast<const Sgd<T>&>(optimizer).learning_rate();
  } else {
    const OptimizerType<T>* user = find_optimizer_type<T>(optimizer.name());
    if (user == nullptr || !user->describe) return std::nullopt;
    return user->describe(optimizer);
  }
  return spec;
}

template <typename T>
std::unique_ptr<Initializer<T>> build_initializer(const InitializerSpec& spec) {
  if (spec.type == "He") return std::make_unique<He<T>>();
  if (spec.type == "Xavier") return std::make_unique<Xavier<T>>();
  if (spec.type == "UniformRandom") return std::make_unique<UniformRandom<T>>();
  if (spec.type == "Constant") {
    if (!std::isfinite(static_cast<T>(spec.value))) {
      throw std::invalid_argument("Constant: expected a finite value, got " +
                                  std::to_string(spec.value));
    }
    return std::make_unique<Constant<T>>(static_cast<T>(spec.value));
  }
  throw std::invalid_argument("initializer: unknown type '" + spec.type +
                              "' (known: He, Xavier, UniformRandom, Constant)");
}

template <typename T>
std::unique_ptr<Loss<T>> build_loss(const std::string& type, const std::string& reduction) {
  const Reduction how = reduction_from_string(reduction, "loss " + type);
  if (type == "CrossEntropyLoss") return std::make_unique<CrossEntropyLoss<T>>(how);
  if (type == "L2Loss") return std::make_unique<L2Loss<T>>(how);
  if (type == "SoftmaxCrossEntropy") return std::make_unique<SoftmaxCrossEntropyLoss<T>>(how);
  throw std::invalid_argument("loss: unknown type '" + type +
                              "' (known: CrossEntropyLoss, L2Loss, SoftmaxCrossEntropy)");
}

template <typename T>
void add_update_phase(Graph<T>& graph, const ModelDescription& description) {
  const OptimizerSpec& spec = description.optimizer;
  // Clipping first, then the L2 penalty: PyTorch's order (clip_grad_norm_, then the optimizer's
  // step, which adds weight_decay * w).
  if (description.clip_norm > 0) {
    graph.update_hooks().push_back(gradient_clipping_hook<T>(description.clip_norm));
  }
  if (spec.weight_decay > 0 && spec.type != "AdamW") {
    graph.update_hooks().push_back(
        l2_penalty_hook<T>(static_cast<T>(spec.weight_decay), spec.decay_bias_and_norm));
  }
  // AdamW decays inside the optimizer: the parameters left out get one without decay (the same
  // type, so their checkpoint state keeps its names).
  if (spec.weight_decay > 0 && spec.type == "AdamW" && !spec.decay_bias_and_norm) {
    OptimizerSpec without_decay = spec;
    without_decay.weight_decay = 0.0;
    const std::unique_ptr<Optimizer<T>> plain = build_optimizer<T>(without_decay);
    for (Parameter<T>* parameter : graph.parameters()) {
      if (parameter->optimizer && !decays(*parameter, false)) parameter->set_optimizer(*plain);
    }
  }
}

template <typename T>
Model<T> build_model(const ModelDescription& description, const Limits& limits) {
  const std::string source = "model '" + description.name + "'";
  detail::validate_description(description, source, limits);
  Model<T> model{description, Graph<T>(),
                 build_loss<T>(description.loss, description.loss_reduction)};
  model.graph.set_context(source + ": ");
  detail::LayerChain<T> chain = detail::make_layers<T>(description, source, limits);
  for (std::size_t i = 0; i < chain.layers.size(); ++i) {
    model.graph.add(chain.names[i], std::move(chain.layers[i]), chain.inputs[i]);
  }
  // The order of NeuralNetwork::append_layer (initialize, then optimizer copies), so both
  // builders give the same weights for the same seed.
  const std::unique_ptr<Initializer<T>> weights_init =
      build_initializer<T>(description.weights_initializer);
  const std::unique_ptr<Initializer<T>> bias_init =
      build_initializer<T>(description.bias_initializer);
  const std::unique_ptr<Optimizer<T>> optimizer = build_optimizer<T>(description.optimizer);
  for (Layer<T>* layer : model.graph.layers()) {
    if (!layer->trainable()) continue;
    layer->initialize(*weights_init, *bias_init);
    layer->set_optimizer(*optimizer);
  }
  // The graph tells the layers that read the model's input that nothing reads its error.
  model.graph.build();
  add_update_phase(model.graph, description);
  return model;
}

template <typename T>
std::unique_ptr<NeuralNetwork<T>> build_network(const ModelDescription& description,
                                                const Limits& limits) {
  const std::string source = "model '" + description.name + "'";
  detail::validate_description(description, source, limits);
  detail::LayerChain<T> chain = detail::make_layers<T>(description, source, limits);
  if (!chain.is_chain()) {
    throw std::invalid_argument(source +
                                ": expected a chain of layers for a NeuralNetwork (each layer "
                                "reading the one before), got a graph (build a Model instead)");
  }
  auto network =
      std::make_unique<NeuralNetwork<T>>(*build_optimizer<T>(description.optimizer),
                                         *build_initializer<T>(description.weights_initializer),
                                         *build_initializer<T>(description.bias_initializer));
  for (auto& layer : chain.layers) network->append_layer(std::move(layer));
  network->set_loss_layer(build_loss<T>(description.loss, description.loss_reduction));
  network->graph().build();
  add_update_phase(network->graph(), description);
  return network;
}

template struct Model<float>;
template struct Model<double>;
template Model<float> build_model<float>(const ModelDescription&, const Limits&);
template Model<double> build_model<double>(const ModelDescription&, const Limits&);
template std::unique_ptr<NeuralNetwork<float>> build_network<float>(const ModelDescription&,
                                                                    const Limits&);
template std::unique_ptr<NeuralNetwork<double>> build_network<double>(const ModelDescription&,
                                                                      const Limits&);
template void add_update_phase<float>(Graph<float>&, const ModelDescription&);
template void add_update_phase<double>(Graph<double>&, const ModelDescription&);
template std::unique_ptr<Optimizer<float>> build_optimizer<float>(const OptimizerSpec&);
template std::unique_ptr<Optimizer<double>> build_optimizer<double>(const OptimizerSpec&);
template std::optional<OptimizerSpec> describe_optimizer<float>(const Optimizer<float>&);
template std::optional<OptimizerSpec> describe_optimizer<double>(const Optimizer<double>&);
template std::unique_ptr<Initializer<float>> build_initializer<float>(const InitializerSpec&);
template std::unique_ptr<Initializer<double>> build_initializer<double>(const InitializerSpec&);
template std::unique_ptr<Loss<float>> build_loss<float>(const std::string&, const std::string&);
template std::unique_ptr<Loss<double>> build_loss<double>(const std::string&, const std::string&);

}  // namespace cnnkit
