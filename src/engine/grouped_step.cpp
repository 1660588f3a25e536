// The data-parallel training step of grouped_step.hpp.
#include "cnnkit/grouped_step.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <span>
#include <string>
#include <utility>

#include "check.hpp"
#include "cnnkit/fixed_tree_sum.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/training_step.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "GroupedStep";
// After the gradients in every leaf: the group's loss, its correct predictions, and 1 on a rank
// that asked to stop (any sum above 0 stops every rank).
constexpr std::size_t kExtras = 3;

// Rows [first, last) of a (B, ...) tensor as a batch of their own, written into `recycled`'s
// buffer (a steady step allocates nothing).
template <typename T>
Tensor<T> rows(const Tensor<T>& batch, std::size_t first, std::size_t last, Tensor<T>&& recycled) {
  Shape shape = batch.shape();
  const std::size_t row = batch.size() / shape[0];
  shape[0] = last - first;
  Tensor<T> part = Tensor<T>::uninitialized(shape, std::move(recycled));
  std::copy(batch.data() + first * row, batch.data() + last * row, part.data());
  return part;
}

template <typename T>
BatchNorm<T>& norm_of(Graph<T>& graph, std::size_t node) {
  return static_cast<BatchNorm<T>&>(graph.layer(node));
}

// The loss sums over the samples while it lives (the step takes the global batch's mean itself).
template <typename T>
class SummingLoss {
 public:
  explicit SummingLoss(Loss<T>& loss) : loss_(loss), reduction_(loss.reduction()) {
    loss.set_reduction(Reduction::kSum);
  }
  ~SummingLoss() { loss_.set_reduction(reduction_); }
  SummingLoss(const SummingLoss&) = delete;
  SummingLoss& operator=(const SummingLoss&) = delete;
  Reduction reduction() const { return reduction_; }

 private:
  Loss<T>& loss_;
  Reduction reduction_;
};

}  // namespace

template <typename T>
GroupedStep<T>::GroupedStep(Graph<T>& graph, Loss<T>& loss, Communicator& communicator,
                            std::size_t groups, const GraphFactory& make_graph)
    : graph_(graph), loss_(loss), communicator_(communicator), groups_(groups) {
  detail::require(
      groups >= 1 && groups >= communicator.size(), kName, "at least one group of samples per rank",
      std::to_string(groups) + " groups on " + std::to_string(communicator.size()) + " ranks");
  const std::vector<std::size_t>& order = graph.order();
  for (std::size_t position = 0; position < order.size(); ++position) {
    if (dynamic_cast<BatchNorm<T>*>(&graph.layer(order[position])) != nullptr) {
      norm_positions_.push_back(position);
    }
  }
  // One group holds the whole batch: BatchNorm's own statistics are the batch's.
  synchronised_ = groups > 1 && !norm_positions_.empty();
  if (!synchronised_) return;
  const GroupShare mine = group_share(groups_, communicator_.size(), communicator_.rank());
  const std::size_t lanes = mine.last_group - mine.first_group;
  if (lanes > 1 && !make_graph) {
    detail::fail(kName,
                 "a way to build copies of the graph (make_graph) for the synchronised BatchNorm "
                 "of the " +
                     std::to_string(lanes) + " groups this rank runs side by side",
                 "none");
  }
  for (std::size_t lane = 1; lane < lanes; ++lane) {
    copies_.push_back(make_graph());
    check_copy(copies_.back());
  }
}

template <typename T>
void GroupedStep<T>::check_copy(Graph<T>& copy) {
  const auto mismatch = [](const std::string& what, const std::string& got) {
    detail::fail(kName, "make_graph() to build the trained graph (" + what + ")", got);
  };
  if (copy.size() != graph_.size()) {
    mismatch(std::to_string(graph_.size()) + " nodes", std::to_string(copy.size()) + " nodes");
  }
  copy.set_input_error_needed(graph_.input_error_needed());
  if (copy.order() != graph_.order()) mismatch("the same order of nodes", "another order");
  for (std::size_t node = 0; node < graph_.size(); ++node) {
    Layer<T>& layer = graph_.layer(node);
    Layer<T>& copied = copy.layer(node);
    const std::string where = "node " + std::to_string(node) + " (" + layer.type() + ")";
    if (copied.type() != layer.type() || copy.inputs(node) != graph_.inputs(node)) {
      mismatch(where, "node " + std::to_string(node) + " (" + copied.type() + ")");
    }
    const std::vector<Parameter<T>*> parameters = layer.parameters();
    const std::vector<Parameter<T>*> copied_parameters = copied.parameters();
    const std::vector<LayerBuffer<T>> buffers = layer.buffers();
    const std::vector<LayerBuffer<T>> copied_buffers = copied.buffers();
    if (copied_parameters.size() != parameters.size() || copied_buffers.size() != buffers.size()) {
      mismatch(where + " with " + std::to_string(parameters.size()) + " parameters",
               std::to_string(copied_parameters.size()) + " parameters");
    }
    for (std::size_t p = 0; p < parameters.size(); ++p) {
      if (copied_parameters[p]->value.shape() != parameters[p]->value.shape()) {
        mismatch(where + ": " + parameters[p]->name + " " + to_string(parameters[p]->value.shape()),
                 to_string(copied_parameters[p]->value.shape()));
      }
      copied_state_.emplace_back(&parameters[p]->value, &copied_parameters[p]->value);
    }
    for (std::size_t b = 0; b < buffers.size(); ++b) {
      if (copied_buffers[b].value->shape() != buffers[b].value->shape()) {
        mismatch(where + ": " + buffers[b].name + " " + to_string(buffers[b].value->shape()),
                 to_string(copied_buffers[b].value->shape()));
      }
      copied_state_.emplace_back(buffers[b].value, copied_buffers[b].value);
    }
  }
}

template <typename T>
void GroupedStep<T>::collect_parameters() {
  parameters_.clear();
  length_ = kExtras;
  for (Layer<T>* layer : graph_.layers()) {
    for (Parameter<T>* parameter : layer->parameters()) {
      parameters_.push_back(parameter);
      length_ += parameter->value.size();
    }
  }
}

template <typename T>
void GroupedStep<T>::start_group(Graph<T>& graph, std::size_t group, std::size_t slot,
                                 const Tensor<T>& input, const Tensor<T>& label) {
  const std::size_t first = runtime::share(input.dim(0), groups_, group);
  const std::size_t last = runtime::share(input.dim(0), groups_, group + 1);
  // The group's samples keep their places in the global batch (dropout is keyed by them).
  StepContext context = step_context_;
  context.first_sample = step_first_sample_ + first;
  graph.set_step_context(context);
  labels_[slot] = rows(label, first, last, std::move(labels_[slot]));
  graph.begin_forward(rows(input, first, last, std::move(inputs_[slot])));
}

template <typename T>
Tensor<T> GroupedStep<T>::group_error(Graph<T>& graph, std::size_t group, std::size_t slot,
                                      const std::vector<std::size_t>& classes) {
  const std::size_t first = runtime::share(classes.size(), groups_, group);
  std::size_t& correct = correct_[slot];
  correct = 0;
  const std::function<void(const Tensor<T>&)> count_correct = [&](const Tensor<T>& prediction) {
    argmax_rows(prediction, predicted_);
    for (std::size_t n = 0; n < predicted_.size(); ++n) {
      if (predicted_[n] == classes[first + n]) ++correct;
    }
  };
  losses_[slot] =
      loss_of_prediction(loss_, graph.end_forward(), labels_[slot], "train", count_correct);
  return loss_.backward(labels_[slot]);
}

template <typename T>
void GroupedStep<T>::finish_group(Graph<T>& graph, std::size_t group, std::size_t slot,
                                  bool stop_asked) {
  // The spent input comes back for the next group's rows.
  inputs_[slot] = graph.end_backward();
  // The lane's own gradients, in the order of parameters_ (the layers as added).
  T* leaf = leaves_.data() + (group - first_group_) * length_;
  for (Layer<T>* layer : graph.layers()) {
    for (const Parameter<T>* own : layer->parameters()) {
      detail::require(own->gradient.size() == own->value.size(), kName,
                      "a gradient of the shape of " + own->name, to_string(own->gradient.shape()));
      leaf = std::copy(own->gradient.begin(), own->gradient.end(), leaf);
    }
  }
  leaf[0] = losses_[slot];
  leaf[1] = static_cast<T>(correct_[slot]);
  // In every group of the rank: a rank whose groups are all empty (a short last batch below
  // the group count) passes its request on with the next batch.
  leaf[2] = stop_asked ? T(1) : T(0);
}

template <typename T>
void GroupedStep<T>::synchronise(std::size_t node, bool backward) {
  BatchNorm<T>& own = norm_of(graph_, node);
  const std::size_t length = backward ? own.error_sums_size() : own.moments_size();
  norm_leaves_.resize(leaves_.size() / length_ * length);  // a leaf per group of this rank
  norm_sum_.resize(length);
  for (std::size_t lane = 0; lane < lane_groups_.size(); ++lane) {
    Graph<T>& graph = lane_graph(lane);
    const std::span<double> leaf(norm_leaves_.data() + (lane_groups_[lane] - first_group_) * length,
                                 length);
    if (backward) {
      norm_of(graph, node).partial_error_sums(graph.node_error(node), leaf);
    } else {
      norm_of(graph, node).partial_moments(graph.node_input(node), leaf);
    }
  }
  fixed_tree_sum<double>(communicator_, length, std::span<double>(norm_leaves_), present_,
                         std::span<double>(norm_sum_), norm_sum_buffers_);
  norm_bytes_ += length * sizeof(double);
  for (std::size_t lane = 0; lane < lane_groups_.size(); ++lane) {
    if (backward) {
      norm_of(lane_graph(lane), node).set_batch_error_sums(norm_sum_);
    } else {
      norm_of(lane_graph(lane), node).set_batch_moments(norm_sum_);
    }
  }
  if (!backward && lane_groups_.empty()) {
    // No samples here in this step: the running statistics still follow the global batch.
    own.set_batch_moments(norm_sum_);
    own.forget_batch_moments();
  }
}

template <typename T>
void GroupedStep<T>::run_side_by_side(const Tensor<T>& input, const Tensor<T>& label,
                                      const std::vector<std::size_t>& classes, bool stop_asked) {
  // The copies start from the trained graph's parameters and running statistics.
  for (const auto& [from, to] : copied_state_) std::copy(from->begin(), from->end(), to->begin());
  const std::size_t lanes = lane_groups_.size();
  const std::vector<std::size_t>& order = graph_.order();
  for (std::size_t lane = 0; lane < lanes; ++lane) {
    start_group(lane_graph(lane), lane_groups_[lane], lane, input, label);
  }
  std::size_t done = 0;
  for (const std::size_t position : norm_positions_) {
    for (std::size_t lane = 0; lane < lanes; ++lane) lane_graph(lane).forward_nodes(done, position);
    synchronise(order[position], /*backward=*/false);
    for (std::size_t lane = 0; lane < lanes; ++lane) {
      lane_graph(lane).forward_nodes(position, position + 1);
    }
    done = position + 1;
  }
  for (std::size_t lane = 0; lane < lanes; ++lane) {
    Graph<T>& graph = lane_graph(lane);
    graph.forward_nodes(done, order.size());
    graph.begin_backward(group_error(graph, lane_groups_[lane], lane, classes));
  }
  done = order.size();
  for (auto at = norm_positions_.rbegin(); at != norm_positions_.rend(); ++at) {
    const std::size_t position = *at;
    for (std::size_t lane = 0; lane < lanes; ++lane) {
      lane_graph(lane).backward_nodes(position + 1, done);
    }
    synchronise(order[position], /*backward=*/true);
    for (std::size_t lane = 0; lane < lanes; ++lane) {
      lane_graph(lane).backward_nodes(position, position + 1);
    }
    done = position;
  }
  for (std::size_t lane = 0; lane < lanes; ++lane) {
    lane_graph(lane).backward_nodes(0, done);
    finish_group(lane_graph(lane), lane_groups_[lane], lane, stop_asked);
  }
}

template <typename T>
GroupedStepResult GroupedStep<T>::step(const Tensor<T>& input, const Tensor<T>& label,
                                       const std::vector<std::size_t>& classes, bool stop_asked) {
  const std::size_t batch = input.dim(0);
  detail::require(label.rank() == 2 && label.dim(0) == batch && classes.size() == batch, kName,
                  "a label row and a class per sample (" + std::to_string(batch) + ")",
                  to_string(label.shape()) + " and " + std::to_string(classes.size()));
  if (parameters_.empty()) collect_parameters();
  const GroupShare mine = group_share(groups_, communicator_.size(), communicator_.rank());
  first_group_ = mine.first_group;
  present_.assign(groups_, 0);
  lane_groups_.clear();
  for (std::size_t k = 0; k < groups_; ++k) {
    present_[k] = runtime::share(batch, groups_, k + 1) > runtime::share(batch, groups_, k);
    if (present_[k] && k >= mine.first_group && k < mine.last_group) lane_groups_.push_back(k);
  }
  leaves_.resize((mine.last_group - mine.first_group) * length_);
  sum_.resize(length_);
  const std::size_t slots = synchronised_ ? std::max<std::size_t>(lane_groups_.size(), 1) : 1;
  if (inputs_.size() < slots) {
    inputs_.resize(slots);
    labels_.resize(slots);
    correct_.resize(slots);
    losses_.resize(slots);
  }
  norm_bytes_ = 0;

  const SummingLoss<T> summing(loss_);
  step_context_ = graph_.step_context();
  step_first_sample_ = step_context_.first_sample;
  if (synchronised_) {
    run_side_by_side(input, label, classes, stop_asked);
  } else {
    // One group after the other through the one graph, in slot 0.
    const std::size_t nodes = graph_.order().size();
    for (const std::size_t group : lane_groups_) {
      start_group(graph_, group, 0, input, label);
      graph_.forward_nodes(0, nodes);
      graph_.begin_backward(group_error(graph_, group, 0, classes));
      graph_.backward_nodes(0, nodes);
      finish_group(graph_, group, 0, stop_asked);
    }
  }
  graph_.set_step_context(step_context_);
  fixed_tree_sum<T>(communicator_, length_, std::span<T>(leaves_), present_, std::span<T>(sum_),
                    sum_buffers_);

  // A mean over the global batch: the sum times 1 / B, the factor of the plain step's loss.
  const T scale = summing.reduction() == Reduction::kMean ? T(1) / static_cast<T>(batch) : T(1);
  const T* summed = sum_.data();
  for (Parameter<T>* parameter : parameters_) {
    T* gradient = parameter->gradient.data();
    for (std::size_t e = 0; e < parameter->value.size(); ++e) gradient[e] = summed[e] * scale;
    summed += parameter->value.size();
  }
  graph_.update();
  return {static_cast<double>(summed[0] * scale), static_cast<std::size_t>(std::lround(summed[1])),
          batch, summed[2] > T(0)};
}

template class GroupedStep<float>;
template class GroupedStep<double>;

}  // namespace cnnkit
