// The training step of data-parallel training (docs/DISTRIBUTED.md): the global batch in fixed
// groups of samples, each group forward and backward through the graph as a batch of its own
// (its gradient one partial sum), the partials of all ranks summed in the fixed tree of
// fixed_tree_sum.hpp into every parameter's gradient, then the update phase and the optimizers
// (Graph::update(): its update hooks see the gradient of the global batch). Every rank holds the
// whole model and passes the same global batch; it computes only its own groups. The result is
// the same bits on any number of ranks and threads for the same groups; on one process with one
// group it is exactly the plain training step (training_step.hpp).
//
// BatchNorm normalises with the statistics of the global batch (synchronised): with more than one
// group, a rank runs its groups side by side, each in its own copy of the graph (make_graph), node
// by node up to each BatchNorm node; there every group's sums (BatchNorm::partial_moments) go into
// the same fixed tree across the ranks, and every group is normalised with the sums of the whole
// batch; backward meets again at each BatchNorm node for the sums of the error. The running
// statistics follow the global batch's mean and unbiased variance, as one plain step over the
// whole batch would update them.
//
// A loss with Reduction::kMean gives the mean over the global batch: the groups' losses and
// gradients are summed, and the sum is scaled by 1 / B (the same scale the plain step's loss
// applies to its error tensor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "cnnkit/communicator.hpp"
#include "cnnkit/fixed_tree_sum.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/loss.hpp"

namespace cnnkit {

// What the step saw, summed over the global batch in the same fixed tree.
struct GroupedStepResult {
  double loss = 0.0;        // the loss of the global batch: the sum, or the mean for kMean
  std::size_t correct = 0;  // samples whose most probable class is the label's
  std::size_t samples = 0;  // the global batch
  bool stop = false;        // some rank asked to stop (step's stop_asked)
};

template <typename T>
class GroupedStep {
 public:
  // Builds a graph with the same nodes, layers and parameter shapes as the one trained (its
  // values do not matter: the step copies the trained graph's parameters and buffers into it).
  using GraphFactory = std::function<Graph<T>()>;

  // Throws std::invalid_argument for fewer groups than ranks, or for a graph with BatchNorm and
  // more than one group of this rank when make_graph is empty or builds another graph.
  GroupedStep(Graph<T>& graph, Loss<T>& loss, Communicator& communicator, std::size_t groups,
              const GraphFactory& make_graph = {});

  // One step on the global batch (input (B, ...), one-hot label (B, classes), the B class
  // indices), the same on every rank. Groups without samples (B below the number of groups, in
  // an epoch's last, short batch) add nothing. `stop_asked` rides along with the gradients, so
  // that every rank learns of a stop request without a collective call of its own.
  GroupedStepResult step(const Tensor<T>& input, const Tensor<T>& label,
                         const std::vector<std::size_t>& classes, bool stop_asked = false);

  std::size_t groups() const { return groups_; }
  // Whether BatchNorm layers meet across the groups (a graph with BatchNorm, more than one group).
  bool synchronised() const { return synchronised_; }
  // Bytes of one rank's partials the last step reduced (gradients plus loss, count and stop; the
  // BatchNorm sums, in double, besides).
  std::size_t reduced_bytes() const { return length_ * sizeof(T) + norm_bytes_; }

 private:
  void collect_parameters();
  void check_copy(Graph<T>& copy);
  Graph<T>& lane_graph(std::size_t lane) { return lane == 0 ? graph_ : copies_[lane - 1]; }
  // A group through `graph`, in slot `slot`: its rows in and forward begun; its prediction's
  // loss and correct count, and the loss's error; its gradients into its leaf.
  void start_group(Graph<T>& graph, std::size_t group, std::size_t slot, const Tensor<T>& input,
                   const Tensor<T>& label);
  Tensor<T> group_error(Graph<T>& graph, std::size_t group, std::size_t slot,
                        const std::vector<std::size_t>& classes);
  void finish_group(Graph<T>& graph, std::size_t group, std::size_t slot, bool stop_asked);
  void run_side_by_side(const Tensor<T>& input, const Tensor<T>& label,
                        const std::vector<std::size_t>& classes, bool stop_asked);
  // The BatchNorm of `node` in every lane gets the sums of the global batch: its input's moments
  // (forward) or its output's error sums (backward).
  void synchronise(std::size_t node, bool backward);

  Graph<T>& graph_;
  Loss<T>& loss_;
  Communicator& communicator_;
  std::size_t groups_;
  std::vector<Parameter<T>*> parameters_;
  std::size_t length_ = 0;  // gradient elements + 3 (loss, correct, stop)
  std::vector<T> leaves_, sum_;
  TreeSumBuffers<T> sum_buffers_;
  std::vector<char> present_;
  std::vector<std::size_t> predicted_;

  // This step's groups with samples (lane l runs group lane_groups_[l] in lane_graph(l)), and
  // per slot their rows (buffers reused from step to step), correct predictions and loss: a slot
  // per lane side by side, the plain path's one slot for every group in turn.
  std::vector<std::size_t> lane_groups_;
  std::size_t first_group_ = 0;
  std::uint64_t step_first_sample_ = 0;
  StepContext step_context_{};
  std::vector<Tensor<T>> inputs_, labels_;
  std::vector<std::size_t> correct_;
  std::vector<T> losses_;

  // Synchronised BatchNorm: the copies of the graph for this rank's second, third... groups, the
  // pairs (trained graph's, copy's) of parameter values and buffers copied before each step, the
  // positions in order() of the BatchNorm nodes, and the sums' leaves and root.
  bool synchronised_ = false;
  std::vector<Graph<T>> copies_;
  std::vector<std::pair<const Tensor<T>*, Tensor<T>*>> copied_state_;
  std::vector<std::size_t> norm_positions_;
  std::vector<double> norm_leaves_, norm_sum_;
  TreeSumBuffers<double> norm_sum_buffers_;
  std::size_t norm_bytes_ = 0;
};

extern template class GroupedStep<float>;
extern template class GroupedStep<double>;

}  // namespace cnnkit
