// Graph: the engine. It runs a directed acyclic graph of layers, and every entry point
// (NeuralNetwork, Model, the trainer, evaluation, gradient_check, the benchmarks) runs on it.
//
// A node has a name, a layer and the names of its input nodes; the graph's input is the node
// named "input" (kInput), its output the one node nothing reads. A chain is a graph in which each
// node reads the one before (append()). Names resolve to indices and the order is checked once,
// at build() (called by the first forward() after a change).
//
// One training step, in this order:
//   forward(input)       training phase, nodes in topological order. A result with one reader
//                        is handed to it as an rvalue (the layer keeps it or computes in it: no
//                        copy on a chain); a result with several readers lives until the last
//                        one, which gets it as the rvalue, and each earlier single-input reader
//                        gets its own copy (the copy a layer that keeps its input would make),
//                        a merge layer reads it by const&.
//   backward(error)      nodes in reverse order, gradients only (every layer's updates are
//                        deferred): the errors that come back to a node read several times are
//                        summed, the first moved in and the others added in reverse reading order.
//   update()             the update phase (update_hooks(), in order: where gradient clipping,
//                        weight decay, schedules and a cross-process reduction of the gradients
//                        plug in), then every parameter's own optimizer, skipping frozen ones.
// infer(input) runs the testing phase (forward keeps nothing for a backward pass) by liveness: a
// value's buffer goes to a pool of the graph when its last reader is done, and each node writes
// its output into the pooled buffer that fits it best (lent to the layer, Layer::recycle_output,
// for that one forward). The activation memory of an inference is then the largest set of values
// alive at once, not their sum, and repeated calls allocate only the prediction they return.
//
// Buffers go round as on a chain (layer.hpp): a copy for an earlier reader comes back as that
// reader's input error, which the summation frees for the next step's copy; an input a merge
// layer reads for the last time becomes the buffer of its input error. A warm step allocates
// nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cnnkit/batch_norm_folding.hpp"
#include "cnnkit/layer.hpp"
#include "cnnkit/merge_layer.hpp"

namespace cnnkit {

template <typename T>
class Graph {
 public:
  static constexpr const char* kInput = "input";

  // Runs between backward() and the optimizers, with the gradients of the whole step complete.
  using UpdateHook = std::function<void(Graph<T>&)>;

  Graph() = default;
  Graph(Graph&&) noexcept = default;
  Graph& operator=(Graph&&) noexcept = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  ~Graph();

  // Adds a node reading the named nodes (several only for a MergeLayer). Names are checked at
  // build(). The layer's updates are deferred to update().
  Graph& add(std::string name, std::unique_ptr<Layer<T>> layer, std::vector<std::string> inputs);
  // The same for a layer the caller owns and keeps alive as long as the graph (its own
  // updates_deferred() comes back when the graph is destroyed).
  Graph& add(std::string name, Layer<T>& layer, std::vector<std::string> inputs);
  // A chain's next node, named "layer{i}" (i counting from 0), reading the last node added (or
  // the input).
  Graph& append(std::unique_ptr<Layer<T>> layer);
  Graph& append(Layer<T>& layer);

  // Resolves the input names, orders the nodes and checks the graph: throws
  // std::invalid_argument naming the node for an unknown input, a cycle, a duplicate name, a node
  // without inputs, several inputs to a single-input layer, or more than one output.
  void build();

  // Nodes other than the input, in the order they were added.
  std::size_t size() const { return nodes_.size(); }
  bool empty() const { return nodes_.empty(); }
  Layer<T>& layer(std::size_t node) const { return *nodes_[node].layer; }
  const std::string& name(std::size_t node) const { return nodes_[node].name; }
  const std::vector<std::string>& inputs(std::size_t node) const { return nodes_[node].inputs; }
  // The layers in the order they were added.
  const std::vector<Layer<T>*>& layers() const { return layers_; }
  // The node indices in the order forward() runs them (build() first).
  const std::vector<std::size_t>& order();

  // The output shape for an input of this shape (batch axis included), node by node; throws
  // std::invalid_argument with the node's name when a layer rejects its input shape.
  Shape output_shape(const Shape& input_shape);

  // Whether backward() computes the error for the graph's input (off by default: nothing reads
  // it, so the layers reading the input may skip it). gradient_check turns it on.
  void set_input_error_needed(bool needed);
  bool input_error_needed() const { return input_error_needed_; }

  // Training phase: the prediction for a batch; each layer keeps what backward() needs.
  Tensor<T> forward(Tensor<T>&& input);
  // Gradients only: dLoss/dOutput in, every parameter's gradient filled; returns a tensor of the
  // input's shape (the error for the input when set_input_error_needed, else a spent buffer for
  // the caller to reuse).
  Tensor<T> backward(Tensor<T>&& error_tensor);
  // The update phase (update_hooks(), in order), then the optimizers of the unfrozen parameters.
  void update();

  // The two training passes in parts, for an engine that runs several graphs side by side and
  // stops before some nodes (GroupedStep's synchronised BatchNorm): forward(input) is
  // begin_forward(input), forward_nodes(0, size()), end_forward(), and backward(error) is
  // begin_backward(error), backward_nodes(0, size()), end_backward(). Positions count in
  // order(): forward_nodes runs [first, last) in order, backward_nodes from last - 1 down to
  // first, and the parts cover every position once. Between the parts, node_input(node) is the
  // value a single-input node reads (its forward not run yet) and node_error(node) the error
  // for its output (the backward of all its readers run, its own not yet).
  void begin_forward(Tensor<T>&& input);
  void forward_nodes(std::size_t first, std::size_t last);
  Tensor<T> end_forward();
  void begin_backward(Tensor<T>&& error_tensor);
  void backward_nodes(std::size_t first, std::size_t last);
  Tensor<T> end_backward();
  const Tensor<T>& node_input(std::size_t node) const;
  const Tensor<T>& node_error(std::size_t node) const;
  std::vector<UpdateHook>& update_hooks() { return update_hooks_; }
  // Every layer's parameters in a fixed order (the layers as added, each one's parameters()),
  // collected at build(): what the update phase walks.
  const std::vector<Parameter<T>*>& parameters() const { return parameters_; }

  // Hands every layer the step the next forward() belongs to, with the layer's node index as its
  // stream (step_context.hpp): the trainer and NeuralNetwork call it before each training step.
  void set_step_context(const StepContext& context);
  // The context last set (stream 0).
  const StepContext& step_context() const { return step_context_; }

  // Testing phase (inference): every layer forward in the testing phase, then back to its own.
  // A BatchNorm that alone reads a Conv's output is folded into that Conv
  // (batch_norm_folding.hpp) unless set_batch_norm_folding(false).
  Tensor<T> infer(const Tensor<T>& input);
  void set_batch_norm_folding(bool fold);
  bool batch_norm_folding() const { return batch_norm_folding_; }

  // A ReLU that alone reads the output of a BatchNorm or an Add runs inside that layer
  // (BatchNorm::set_fused_relu, Add::set_fused_relu) in training and inference, and its own node
  // passes values and errors through: the same values, two passes over memory fewer each way.
  // infer() also runs a ReLU that alone reads a Conv's output in that Conv (Conv::set_fused_relu),
  // and the ReLU of a BatchNorm folded into its Conv in that Conv. (Training keeps a Conv's ReLU
  // on its own: the fused ReLU's mask cost a training step as much as the pass it saves,
  // docs/PERFORMANCE.md.) On unless set_relu_fusion(false).
  void set_relu_fusion(bool fuse);
  bool relu_fusion() const { return relu_fusion_; }

  // Called after each node's forward (backward = false; infer() too) and backward (true) when
  // set: for profiles that time the nodes one by one.
  using NodeObserver = std::function<void(std::size_t node, bool backward)>;
  void set_observer(NodeObserver observer) { observer_ = std::move(observer); }

  // `prefix` goes before every message about a node ("NeuralNetwork::forward: node ...").
  void set_context(std::string prefix) { context_ = std::move(prefix); }

 private:
  struct Node {
    std::string name;
    std::unique_ptr<Layer<T>> owned;  // null for a borrowed layer
    Layer<T>* layer = nullptr;
    MergeLayer<T>* merge = nullptr;          // the layer as a merge layer, if it is one
    bool borrowed_updates_deferred = false;  // what a borrowed layer had before
    std::vector<std::string> inputs;
    // Resolved at build(): value index of each input (0 is the graph's input, node i is i + 1),
    // and whether this node is that value's last reader.
    std::vector<std::size_t> sources;
    std::vector<char> last_read;
    // A merge layer's inputs for forward and its input errors for backward (grown once).
    std::vector<const Tensor<T>*> input_views;
    std::vector<Tensor<T>> input_errors;
    // A ReLU whose source's layer computes it (set_relu_fusion): values and errors pass through.
    // (At inference a BatchNorm's fused ReLU goes with it into its Conv.)
    bool relu_fused_into_source = false;
    // A ReLU that alone reads a Conv's output: infer() runs it in the Conv and passes values
    // through; training runs it on its own.
    bool relu_fused_at_inference = false;
  };

  Graph& add_node(std::string name, std::unique_ptr<Layer<T>> owned, Layer<T>& layer,
                  std::vector<std::string> inputs);
  void build_if_needed() {
    if (!built_) build();
  }
  std::string describe(std::size_t node) const;
  [[noreturn]] void rethrow_with_context(std::size_t node) const;
  void run_forward(std::size_t node, std::vector<Tensor<T>>& values);
  // Testing phase: a value its last reader left behind goes to the pool (free_).
  void recycle_spent(std::size_t value);
  // Testing phase, around a node's forward: lend its layer the best-fitting pooled buffer for its
  // output (keeping the layer's own spare aside), then take back what it did not use.
  void lend_buffer(std::size_t node);
  void take_back_buffer(std::size_t node);
  // Every value's shape for an input of this shape (0 the input, i + 1 node i).
  std::vector<Shape> value_shapes(const Shape& input_shape);
  // Hands an error back to the node that produced `value`: moved in when it is the first, else
  // added, and then its buffer goes to the copies of the next step (give_up_buffer).
  void deliver(std::size_t value, Tensor<T>& error, bool give_up_buffer);
  // Fuses each ReLU into the BatchNorm or Add whose output only it reads, and marks one that alone
  // reads a Conv's for infer() (or undoes every fusion with relu_fusion_ off); `readers` counts
  // the readers of every value.
  void fuse_relus(const std::vector<std::size_t>& readers);
  void unfuse_relus();
  // In infer(), while the BatchNorms are folded: turns on (fused) or off again the fused ReLU of
  // each Conv that runs a ReLU then (relu_fused_at_inference, or the ReLU fused into a
  // BatchNorm folded into the Conv).
  void fuse_relus_for_inference(bool fused);

  std::vector<Node> nodes_;
  std::vector<Layer<T>*> layers_;
  std::vector<std::size_t> order_;  // node indices
  std::size_t output_ = 0;          // value index of the output
  bool built_ = false;
  bool input_error_needed_ = false;
  std::string context_;
  NodeObserver observer_;
  StepContext step_context_{};
  std::vector<UpdateHook> update_hooks_;
  std::vector<Parameter<T>*> parameters_;       // of every layer, collected at build()
  std::vector<char> saved_phases_;              // each layer's own phase while infer() runs
  const Tensor<T>* inference_input_ = nullptr;  // the caller's input while infer() runs
  bool batch_norm_folding_ = true;
  BatchNormFolding<T> folding_;    // the Conv + BatchNorm pairs, found at build()
  std::vector<char> folded_away_;  // per node: a BatchNorm folded into its Conv in this infer()
  bool relu_fusion_ = true;

  // Per value (0 the input, i + 1 node i): the result of this step, the summed error coming
  // back, whether that error is there yet, and the spare buffers for copies to earlier readers.
  std::vector<Tensor<T>> values_;
  std::vector<Tensor<T>> errors_;
  std::vector<char> has_error_;
  std::vector<std::vector<Tensor<T>>> copy_spares_;
  // Testing phase: the buffers no value holds now; each node's own output spare, kept aside while
  // it uses a lent one; the elements of each node's output for inference_shape_.
  std::vector<Tensor<T>> free_;
  std::vector<Tensor<T>> own_spares_;
  std::vector<std::size_t> inference_sizes_;
  Shape inference_shape_;
  bool inference_sized_ = false;
};

extern template class Graph<float>;
extern template class Graph<double>;

}  // namespace cnnkit
