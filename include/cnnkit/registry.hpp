// User layers and optimizers by type name: once registered, a user's classes appear in JSON
// descriptions, model files, checkpoints and `cnnkit summary` like the built-in ones, without
// changing the library.
//   register_layer("Scale", []<typename T>(const LayerSpec& spec, const Shape& input_shape) {
//     return std::make_unique<Scale<T>>(spec.attributes.at("factor"));
//   });
//   {"type": "Scale", "factor": 0.5}        (in a description: every other key is an attribute)
// A layer's maker gets the spec (its attributes are the layer's own numeric keys) and the shape
// that reaches it (batch axis included, batch 1); a registered layer reads one input. An
// optimizer's maker gets the spec (learning_rate and the attributes). The describer, optional,
// is the inverse: the spec of an existing object of that type (its type() or name() is the
// registered name), which lets a hand-built network holding one be saved (describe_network) and
// a checkpoint record a parameter's user optimizer.
//
// The registry is the library's one global table besides the random engine: register at start-up,
// before reading a description that names the type. It is guarded by a mutex; registering a name
// twice, or a built-in one, throws std::invalid_argument.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cnnkit/layer.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/optimizers.hpp"

namespace cnnkit {

template <typename T>
struct LayerType {
  std::function<std::unique_ptr<Layer<T>>(const LayerSpec&, const Shape&)> make;
  std::function<std::optional<LayerSpec>(const Layer<T>&)> describe;  // may be empty
};

template <typename T>
struct OptimizerType {
  std::function<std::unique_ptr<Optimizer<T>>(const OptimizerSpec&)> make;
  std::function<std::optional<OptimizerSpec>(const Optimizer<T>&)> describe;  // may be empty
};

namespace detail {
void add_layer_type(const std::string& type, LayerType<float> f, LayerType<double> d);
void add_optimizer_type(const std::string& type, OptimizerType<float> f, OptimizerType<double> d);

// The maker for one element type T of a maker written as a template lambda.
template <typename T, typename Make>
auto layer_maker(Make make) {
  return [make](const LayerSpec& spec, const Shape& input_shape) {
    return make.template operator()<T>(spec, input_shape);
  };
}
template <typename T, typename Make>
auto optimizer_maker(Make make) {
  return [make](const OptimizerSpec& spec) { return make.template operator()<T>(spec); };
}
}  // namespace detail

// `make` and `describe` are templates over the element type (C++20 template lambdas,
// []<typename T>(...)), instantiated for float and double.
template <typename Make>
void register_layer(const std::string& type, Make make) {
  detail::add_layer_type(type, {detail::layer_maker<float>(make), {}},
                         {detail::layer_maker<double>(make), {}});
}
template <typename Make, typename Describe>
void register_layer(const std::string& type, Make make, Describe describe) {
  detail::add_layer_type(type, {detail::layer_maker<float>(make), describe},
                         {detail::layer_maker<double>(make), describe});
}
template <typename Make>
void register_optimizer(const std::string& type, Make make) {
  detail::add_optimizer_type(type, {detail::optimizer_maker<float>(make), {}},
                             {detail::optimizer_maker<double>(make), {}});
}
template <typename Make, typename Describe>
void register_optimizer(const std::string& type, Make make, Describe describe) {
  detail::add_optimizer_type(type, {detail::optimizer_maker<float>(make), describe},
                             {detail::optimizer_maker<double>(make), describe});
}

// The registered entry of a type, or null; the pointer stays valid (entries are never removed).
template <typename T>
const LayerType<T>* find_layer_type(const std::string& type);
template <typename T>
const OptimizerType<T>* find_optimizer_type(const std::string& type);
bool is_registered_layer(const std::string& type);
bool is_registered_optimizer(const std::string& type);
// The registered names, sorted.
std::vector<std::string> registered_layer_types();
std::vector<std::string> registered_optimizer_types();

extern template const LayerType<float>* find_layer_type<float>(const std::string&);
extern template const LayerType<double>* find_layer_type<double>(const std::string&);
extern template const OptimizerType<float>* find_optimizer_type<float>(const std::string&);
extern template const OptimizerType<double>* find_optimizer_type<double>(const std::string&);

}  // namespace cnnkit
