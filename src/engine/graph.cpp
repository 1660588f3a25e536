// Graph: running (forward, backward, update, infer) the engine of graph.hpp; building it (names
// to indices, the order, the checks, the fusions) is graph_build.cpp.
#include "cnnkit/graph.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/chunks.hpp"

namespace cnnkit {

namespace {

// Below this many elements the sum of two errors runs on one thread: starting the team costs more.
constexpr std::size_t kParallelElements = std::size_t{1} << 16;

}  // namespace

template <typename T>
Graph<T>::~Graph() {
  unfuse_relus();
  for (Node& node : nodes_) {
    if (!node.owned) node.layer->set_updates_deferred(node.borrowed_updates_deferred);
  }
}

template <typename T>
Graph<T>& Graph<T>::add_node(std::string name, std::unique_ptr<Layer<T>> owned, Layer<T>& layer,
                             std::vector<std::string> inputs) {
  Node node;
  node.name = std::move(name);
  node.borrowed_updates_deferred = layer.updates_deferred();
  node.owned = std::move(owned);
  node.layer = &layer;
  node.merge = dynamic_cast<MergeLayer<T>*>(&layer);
  node.inputs = std::move(inputs);
  layer.set_updates_deferred(true);
  nodes_.push_back(std::move(node));
  layers_.push_back(&layer);
  built_ = false;
  return *this;
}

template <typename T>
Graph<T>& Graph<T>::add(std::string name, std::unique_ptr<Layer<T>> layer,
                        std::vector<std::string> inputs) {
  if (!layer) {
    throw std::invalid_argument(context_ + "graph: node '" + name +
                                "': expected a layer, got nullptr");
  }
  Layer<T>& ref = *layer;
  return add_node(std::move(name), std::move(layer), ref, std::move(inputs));
}

template <typename T>
Graph<T>& Graph<T>::add(std::string name, Layer<T>& layer, std::vector<std::string> inputs) {
  return add_node(std::move(name), nullptr, layer, std::move(inputs));
}

template <typename T>
Graph<T>& Graph<T>::append(std::unique_ptr<Layer<T>> layer) {
  std::string previous = nodes_.empty() ? kInput : nodes_.back().name;
  return add("layer" + std::to_string(nodes_.size()), std::move(layer), {std::move(previous)});
}

template <typename T>
Graph<T>& Graph<T>::append(Layer<T>& layer) {
  std::string previous = nodes_.empty() ? kInput : nodes_.back().name;
  return add("layer" + std::to_string(nodes_.size()), layer, {std::move(previous)});
}

template <typename T>
std::string Graph<T>::describe(std::size_t node) const {
  return "node '" + nodes_[node].name + "' (" + nodes_[node].layer->type() + ")";
}

template <typename T>
const std::vector<std::size_t>& Graph<T>::order() {
  build_if_needed();
  return order_;
}

template <typename T>
void Graph<T>::set_input_error_needed(bool needed) {
  input_error_needed_ = needed;
  if (!built_) return;
  // A layer whose only input is the graph's input computes an error nothing reads, unless asked.
  for (Node& node : nodes_) {
    const bool reads_input_only = !node.merge && node.sources.size() == 1 && node.sources[0] == 0;
    node.layer->set_input_error_needed(!reads_input_only || needed);
  }
}

template <typename T>
void Graph<T>::rethrow_with_context(std::size_t node) const {
  try {
    throw;
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(context_ + describe(node) + ": " + error.what());
  }
}

template <typename T>
Shape Graph<T>::output_shape(const Shape& input_shape) {
  build_if_needed();
  return value_shapes(input_shape)[output_];
}

template <typename T>
std::vector<Shape> Graph<T>::value_shapes(const Shape& input_shape) {
  std::vector<Shape> shapes(nodes_.size() + 1);
  shapes[0] = input_shape;
  std::vector<Shape> merged;
  for (std::size_t i : order_) {
    const Node& node = nodes_[i];
    try {
      if (node.merge) {
        merged.clear();
        for (std::size_t source : node.sources) merged.push_back(shapes[source]);
        shapes[i + 1] = node.merge->output_shape(std::span<const Shape>(merged));
      } else {
        shapes[i + 1] = node.layer->output_shape(shapes[node.sources[0]]);
      }
    } catch (const std::invalid_argument&) {
      rethrow_with_context(i);
    }
  }
  return shapes;
}

template <typename T>
void Graph<T>::run_forward(std::size_t i, std::vector<Tensor<T>>& values) {
  Node& node = nodes_[i];
  const bool testing = node.layer->testing_phase();
  if (node.merge) {
    for (std::size_t k = 0; k < node.sources.size(); ++k) {
      node.input_views[k] = node.sources[k] == 0 && inference_input_ != nullptr
                                ? inference_input_
                                : &values[node.sources[k]];
    }
    values[i + 1] = node.merge->forward(std::span<const Tensor<T>* const>(node.input_views));
    for (std::size_t k = 0; k < node.sources.size(); ++k) {
      if (!node.last_read[k]) continue;
      if (testing) {
        recycle_spent(node.sources[k]);
      } else {
        // An input read for the last time becomes the buffer of its error in backward().
        node.input_errors[k] = std::move(values[node.sources[k]]);
      }
    }
    return;
  }
  const std::size_t source = node.sources[0];
  if (node.relu_fused_into_source ||
      (inference_input_ != nullptr && node.relu_fused_at_inference)) {
    // Its source's layer applied the ReLU (at inference: a Conv, or the Conv a BatchNorm with the
    // fused ReLU is folded into); that value has no other reader.
    values[i + 1] = std::move(values[source]);
    return;
  }
  if (source == 0 && inference_input_ != nullptr) {
    values[i + 1] = node.layer->forward(*inference_input_);  // the caller's tensor
  } else if (node.last_read[0]) {
    values[i + 1] = node.layer->forward(std::move(values[source]));
    // Not taken over (computed in place, or kept): the buffer goes to the pool.
    if (testing) recycle_spent(source);
  } else if (testing) {
    values[i + 1] = node.layer->forward(std::as_const(values[source]));
  } else {
    // An earlier reader in training gets its own copy, in a buffer an earlier step's summation
    // of errors freed.
    std::vector<Tensor<T>>& spares = copy_spares_[source];
    Tensor<T> copy;
    if (!spares.empty()) {
      copy = std::move(spares.back());
      spares.pop_back();
    }
    const Tensor<T>& value = values[source];
    copy = Tensor<T>::uninitialized(value.shape(), std::move(copy));
    std::copy(value.begin(), value.end(), copy.begin());
    values[i + 1] = node.layer->forward(std::move(copy));
  }
}

template <typename T>
void Graph<T>::recycle_spent(std::size_t value) {
  Tensor<T>& spent = values_[value];
  if (value == 0 || spent.values().capacity() == 0) return;
  free_.push_back(std::move(spent));
}

template <typename T>
void Graph<T>::lend_buffer(std::size_t node) {
  Layer<T>& layer = *nodes_[node].layer;
  own_spares_[node] = layer.release_output_spare();
  // Best fit: the smallest pooled buffer that holds the output, and at most twice its size (a
  // small output, such as the prediction that leaves the graph, must not take a large buffer
  // away from the node it fits). None: the layer allocates one.
  const std::size_t needed = inference_sizes_[node];
  std::size_t best = free_.size();
  for (std::size_t k = 0; k < free_.size(); ++k) {
    const std::size_t capacity = free_[k].values().capacity();
    if (capacity >= needed && capacity / 2 <= needed &&
        (best == free_.size() || capacity < free_[best].values().capacity())) {
      best = k;
    }
  }
  if (best == free_.size()) return;
  layer.recycle_output(std::move(free_[best]));
  if (best + 1 != free_.size()) free_[best] = std::move(free_.back());
  free_.pop_back();
}

template <typename T>
void Graph<T>::take_back_buffer(std::size_t node) {
  Layer<T>& layer = *nodes_[node].layer;
  Tensor<T> unused = layer.release_output_spare();
  if (unused.values().capacity() != 0) free_.push_back(std::move(unused));
  layer.recycle_output(std::move(own_spares_[node]));
}

template <typename T>
Tensor<T> Graph<T>::forward(Tensor<T>&& input) {
  begin_forward(std::move(input));
  forward_nodes(0, order_.size());
  return end_forward();
}

template <typename T>
void Graph<T>::begin_forward(Tensor<T>&& input) {
  build_if_needed();
  values_[0] = std::move(input);
}

template <typename T>
void Graph<T>::forward_nodes(std::size_t first, std::size_t last) {
  for (std::size_t position = first; position < last; ++position) {
    const std::size_t i = order_[position];
    try {
      run_forward(i, values_);
    } catch (const std::invalid_argument&) {
      rethrow_with_context(i);
    }
    if (observer_) observer_(i, false);
  }
}

template <typename T>
Tensor<T> Graph<T>::end_forward() {
  return std::move(values_[output_]);
}

template <typename T>
const Tensor<T>& Graph<T>::node_input(std::size_t node) const {
  return values_[nodes_[node].sources[0]];
}

template <typename T>
const Tensor<T>& Graph<T>::node_error(std::size_t node) const {
  return errors_[node + 1];
}

template <typename T>
Tensor<T> Graph<T>::infer(const Tensor<T>& input) {
  build_if_needed();
  if (nodes_.empty()) return input;
  // As TestingPhaseScope, without allocating: every layer's own phase comes back at the end.
  struct Restore {
    Graph& graph;
    ~Restore() {
      graph.fuse_relus_for_inference(false);
      graph.folding_.unfold();
      graph.inference_input_ = nullptr;
      for (std::size_t i = 0; i < graph.layers_.size(); ++i) {
        graph.layers_[i]->set_testing_phase(graph.saved_phases_[i] != 0);
      }
    }
  } restore{*this};
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    saved_phases_[i] = layers_[i]->testing_phase() ? 1 : 0;
    layers_[i]->set_testing_phase(true);
  }
  inference_input_ = &input;
  std::fill(folded_away_.begin(), folded_away_.end(), 0);
  folding_.fold(folded_away_);
  fuse_relus_for_inference(true);
  if (!inference_sized_ || input.shape() != inference_shape_) {
    inference_sizes_.assign(nodes_.size(), 0);
    inference_shape_ = input.shape();
    try {
      const std::vector<Shape> shapes = value_shapes(input.shape());
      for (std::size_t i = 0; i < nodes_.size(); ++i) {
        inference_sizes_[i] = element_count(shapes[i + 1]);
      }
      inference_sized_ = true;
    } catch (const std::invalid_argument&) {
      // An input the layers reject: their forward() says so below, in their own words.
      inference_sized_ = false;
    }
  }
  for (std::size_t i : order_) {
    if (folded_away_[i]) {
      // Its Conv computed the normalised values already; the Conv's output is read only here.
      values_[i + 1] = std::move(values_[nodes_[i].sources[0]]);
      if (observer_) observer_(i, false);
      continue;
    }
    // What the node's layer does not use of the lent buffer comes back, also when it throws.
    struct Lent {
      Graph& graph;
      std::size_t node;
      ~Lent() { graph.take_back_buffer(node); }
    };
    lend_buffer(i);
    const Lent lent{*this, i};
    try {
      run_forward(i, values_);
    } catch (const std::invalid_argument&) {
      rethrow_with_context(i);
    }
    if (observer_) observer_(i, false);
  }
  return std::move(values_[output_]);
}

template <typename T>
void Graph<T>::deliver(std::size_t value, Tensor<T>& error, bool give_up_buffer) {
  if (!has_error_[value]) {
    errors_[value] = std::move(error);
    has_error_[value] = 1;
    return;
  }
  // Nothing reads the graph input's error unless asked: its first buffer is enough.
  if (value != 0 || input_error_needed_) {
    Tensor<T>& sum = errors_[value];
    if (error.shape() != sum.shape()) {
      throw std::logic_error(context_ + "graph: the errors for one node differ in shape: " +
                             to_string(sum.shape()) + " and " + to_string(error.shape()));
    }
    T* const total = sum.data();
    const T* const add = error.data();
    // Each element by one thread: the same bits on any thread count.
    const std::size_t n = sum.size();
    kernels::for_chunks(n, n >= kParallelElements, [=](std::size_t begin, std::size_t end) {
      for (std::size_t e = begin; e < end; ++e) total[e] += add[e];
    });
  }
  if (give_up_buffer) copy_spares_[value].push_back(std::move(error));
}

template <typename T>
Tensor<T> Graph<T>::backward(Tensor<T>&& error_tensor) {
  build_if_needed();
  if (nodes_.empty()) return std::move(error_tensor);
  begin_backward(std::move(error_tensor));
  backward_nodes(0, order_.size());
  return end_backward();
}

template <typename T>
void Graph<T>::begin_backward(Tensor<T>&& error_tensor) {
  build_if_needed();
  errors_[output_] = std::move(error_tensor);
  has_error_[output_] = 1;
}

template <typename T>
Tensor<T> Graph<T>::end_backward() {
  has_error_[0] = 0;
  return std::move(errors_[0]);
}

template <typename T>
void Graph<T>::backward_nodes(std::size_t first, std::size_t last) {
  for (std::size_t position = last; position-- > first;) {
    const std::size_t i = order_[position];
    Node& node = nodes_[i];
    has_error_[i + 1] = 0;
    try {
      if (node.merge) {
        node.merge->backward(std::move(errors_[i + 1]), std::span<Tensor<T>>(node.input_errors));
        // The last reader's error first (reverse reading order): it is moved in, the rest added,
        // each merge keeping its buffer for the next step.
        for (std::size_t k = node.sources.size(); k-- > 0;) {
          deliver(node.sources[k], node.input_errors[k], /*give_up_buffer=*/false);
        }
      } else if (node.relu_fused_into_source) {
        deliver(node.sources[0], errors_[i + 1], /*give_up_buffer=*/false);  // its only reader
      } else {
        Tensor<T> input_error = node.layer->backward(std::move(errors_[i + 1]));
        deliver(node.sources[0], input_error, /*give_up_buffer=*/true);
      }
    } catch (const std::invalid_argument&) {
      rethrow_with_context(i);
    }
    if (observer_) observer_(i, true);
  }
}

template <typename T>
void Graph<T>::update() {
  for (const UpdateHook& hook : update_hooks_) hook(*this);
  build_if_needed();
  for (Parameter<T>* parameter : parameters_) parameter->apply_update();
}

template <typename T>
void Graph<T>::set_step_context(const StepContext& context) {
  step_context_ = context;
  step_context_.stream = 0;
  StepContext own = context;
  for (std::size_t node = 0; node < nodes_.size(); ++node) {
    own.stream = static_cast<std::uint32_t>(node);
    nodes_[node].layer->set_step_context(own);
  }
}

template class Graph<float>;
template class Graph<double>;

}  // namespace cnnkit
