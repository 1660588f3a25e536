// Graph: building the engine of graph.hpp (names to indices, the order, the checks), and the
// pairs it fuses (a ReLU into the BatchNorm or Add before it; at inference a ReLU into the Conv
// before it, a BatchNorm into its Conv, batch_norm_folding.cpp, and then the BatchNorm's fused
// ReLU into that Conv); running it is graph.cpp.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <queue>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "cnnkit/graph.hpp"
#include "cnnkit/layers/add.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/conv.hpp"
#include "cnnkit/layers/relu.hpp"

namespace cnnkit {

namespace {

// Turns the fused ReLU of a Conv, a BatchNorm or an Add on or off; false for any other layer.
template <typename T>
bool set_fused_relu(Layer<T>& layer, bool fused) {
  if (auto* conv = dynamic_cast<Conv<T>*>(&layer)) {
    conv->set_fused_relu(fused);
    return true;
  }
  if (auto* batch_norm = dynamic_cast<BatchNorm<T>*>(&layer)) {
    batch_norm->set_fused_relu(fused);
    return true;
  }
  if (auto* add = dynamic_cast<Add<T>*>(&layer)) {
    add->set_fused_relu(fused);
    return true;
  }
  return false;
}

}  // namespace

template <typename T>
void Graph<T>::unfuse_relus() {
  for (Node& node : nodes_) {
    node.relu_fused_at_inference = false;
    if (!node.relu_fused_into_source) continue;
    set_fused_relu(*nodes_[node.sources[0] - 1].layer, false);
    node.relu_fused_into_source = false;
  }
}

template <typename T>
void Graph<T>::fuse_relus(const std::vector<std::size_t>& readers) {
  for (Node& node : nodes_) {
    if (!relu_fusion_ || node.merge || node.sources[0] == 0 || readers[node.sources[0]] != 1 ||
        dynamic_cast<ReLU<T>*>(node.layer) == nullptr) {
      continue;
    }
    Layer<T>& source = *nodes_[node.sources[0] - 1].layer;
    if (dynamic_cast<Conv<T>*>(&source) != nullptr) {
      node.relu_fused_at_inference = true;  // fused by infer() only: fuse_relus_for_inference
    } else {
      node.relu_fused_into_source = set_fused_relu(source, true);
    }
  }
}

template <typename T>
void Graph<T>::fuse_relus_for_inference(bool fused) {
  for (const Node& node : nodes_) {
    if (node.merge || node.sources[0] == 0) continue;
    const Node& source = nodes_[node.sources[0] - 1];
    if (node.relu_fused_at_inference) {
      set_fused_relu(*source.layer, fused);
    } else if (node.relu_fused_into_source && folded_away_[node.sources[0] - 1]) {
      set_fused_relu(*nodes_[source.sources[0] - 1].layer, fused);  // the folded BatchNorm's Conv
    }
  }
}

template <typename T>
void Graph<T>::set_relu_fusion(bool fuse) {
  relu_fusion_ = fuse;
  built_ = false;  // build() finds the pairs again
}

template <typename T>
void Graph<T>::build() {
  unfuse_relus();  // found again below
  const std::size_t count = nodes_.size();
  const auto fail = [this](std::size_t node, const std::string& what) {
    throw std::invalid_argument(context_ + "graph: " + describe(node) + ": " + what);
  };
  // Value index of every name: 0 the graph's input, node i is i + 1.
  std::unordered_map<std::string, std::size_t> values;
  values.emplace(kInput, 0);
  for (std::size_t i = 0; i < count; ++i) {
    const auto [found, inserted] = values.emplace(nodes_[i].name, i + 1);
    if (!inserted) {
      fail(i, found->second == 0 ? std::string("expected a name other than 'input' (the graph's "
                                               "input), got 'input'")
                                 : "expected a name of its own, got the name of node " +
                                       std::to_string(found->second - 1) + " (" +
                                       nodes_[found->second - 1].layer->type() + ")");
    }
  }
  std::vector<std::vector<std::size_t>> readers(count + 1);  // node indices, per value
  std::vector<std::size_t> pending(count, 0);                // inputs of each node not yet ordered
  for (std::size_t i = 0; i < count; ++i) {
    Node& node = nodes_[i];
    if (node.inputs.empty()) fail(i, "expected at least one input, got none");
    if (!node.merge && node.inputs.size() != 1) {
      fail(i, "expected one input (only a merge layer such as Add or Concat takes several), got " +
                  std::to_string(node.inputs.size()));
    }
    node.sources.clear();
    for (const std::string& input : node.inputs) {
      const auto found = values.find(input);
      if (found == values.end()) fail(i, "unknown input '" + input + "'");
      node.sources.push_back(found->second);
      readers[found->second].push_back(i);
      if (found->second != 0) ++pending[i];
    }
  }

  // Kahn's algorithm, the lowest node index first among the ready ones: a chain runs in the
  // order it was added, and any graph in one fixed order.
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t i = 0; i < count; ++i) {
    if (pending[i] == 0) ready.push(i);
  }
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    const std::size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (std::size_t reader : readers[i + 1]) {
      if (--pending[reader] == 0) ready.push(reader);
    }
  }
  if (order.size() != count) {
    // Every node left out reads another one left out: walking those inputs comes back to a node
    // already seen, which lies on a cycle.
    std::size_t at = 0;
    while (pending[at] == 0) ++at;
    std::vector<std::size_t> walk;
    while (std::find(walk.begin(), walk.end(), at) == walk.end()) {
      walk.push_back(at);
      for (std::size_t source : nodes_[at].sources) {
        if (source != 0 && pending[source - 1] != 0) {
          at = source - 1;
          break;
        }
      }
    }
    std::string cycle = "'" + nodes_[at].name + "'";
    for (auto step = std::find(walk.begin(), walk.end(), at) + 1; step != walk.end(); ++step) {
      cycle += " <- '" + nodes_[*step].name + "'";
    }
    fail(at, "expected a graph without cycles, got the cycle " + cycle + " <- '" + nodes_[at].name +
                 "'");
  }

  // One output: the last node of the order that no node reads; any other such node would be
  // computed for nothing.
  output_ = 0;
  for (std::size_t i : order) {
    if (readers[i + 1].empty()) {
      if (output_ != 0) {
        fail(output_ - 1, "expected to feed another node (the graph's one output is " +
                              describe(i) + "), got no reader");
      }
      output_ = i + 1;
    }
  }
  // An output found above is the last node of the order; a sink found earlier was reported.

  // The last reader of every value (in the order) gets it as an rvalue.
  std::vector<std::pair<std::size_t, std::size_t>> last(count + 1, {count, 0});  // node, slot
  for (std::size_t i : order) {
    for (std::size_t k = 0; k < nodes_[i].sources.size(); ++k) last[nodes_[i].sources[k]] = {i, k};
  }
  std::vector<std::size_t> copies(count + 1, 0);  // earlier single-input readers per value
  for (std::size_t i = 0; i < count; ++i) {
    Node& node = nodes_[i];
    node.last_read.assign(node.sources.size(), 0);
    for (std::size_t k = 0; k < node.sources.size(); ++k) {
      const bool is_last = last[node.sources[k]] == std::pair{i, k};
      node.last_read[k] = is_last ? 1 : 0;
      if (!is_last && !node.merge) ++copies[node.sources[k]];
    }
    if (node.merge) {
      node.input_views.resize(node.sources.size());
      node.input_errors.resize(node.sources.size());
    }
  }
  values_.resize(count + 1);
  errors_.resize(count + 1);
  has_error_.assign(count + 1, 0);
  copy_spares_.resize(count + 1);
  // At most every value's buffer and one lent buffer are in the pool: no growth while running.
  free_.reserve(count + 2);
  own_spares_.resize(count);
  inference_sized_ = false;
  for (std::size_t v = 0; v <= count; ++v) copy_spares_[v].reserve(copies[v]);
  parameters_.clear();
  for (Layer<T>* layer : layers_) {
    for (Parameter<T>* parameter : layer->parameters()) parameters_.push_back(parameter);
  }
  saved_phases_.assign(count, 0);
  // Inference folds a BatchNorm into the Conv whose output it alone reads.
  folding_.clear();
  folded_away_.assign(count, 0);
  for (std::size_t i = 0; i < count && batch_norm_folding_; ++i) {
    const Node& node = nodes_[i];
    if (node.merge || node.sources[0] == 0 || readers[node.sources[0]].size() != 1) continue;
    Node& producer = nodes_[node.sources[0] - 1];
    if (!producer.merge && BatchNormFolding<T>::foldable(*producer.layer, *node.layer)) {
      folding_.add(*producer.layer, *node.layer, i);
    }
  }
  std::vector<std::size_t> reader_counts(count + 1);
  for (std::size_t v = 0; v <= count; ++v) reader_counts[v] = readers[v].size();
  fuse_relus(reader_counts);
  order_ = std::move(order);
  built_ = true;
  set_input_error_needed(input_error_needed_);
}

template <typename T>
void Graph<T>::set_batch_norm_folding(bool fold) {
  batch_norm_folding_ = fold;
  built_ = false;  // build() finds the pairs again
}

// The members defined here; Graph's other members are instantiated in graph.cpp.
template void Graph<float>::unfuse_relus();
template void Graph<float>::fuse_relus(const std::vector<std::size_t>&);
template void Graph<float>::fuse_relus_for_inference(bool);
template void Graph<float>::set_relu_fusion(bool);
template void Graph<float>::build();
template void Graph<float>::set_batch_norm_folding(bool);
template void Graph<double>::unfuse_relus();
template void Graph<double>::fuse_relus(const std::vector<std::size_t>&);
template void Graph<double>::fuse_relus_for_inference(bool);
template void Graph<double>::set_relu_fusion(bool);
template void Graph<double>::build();
template void Graph<double>::set_batch_norm_folding(bool);

}  // namespace cnnkit
