// The training step of data-parallel training (docs/DISTRIBUTED.md): the global batch in fixed
// groups of samples, each group forward and backward through the graph as a batch of its own
// (its gradient one partial sum), the partials of all ranks summed in the fixed tree of
// fixed_tree_sum.hpp into every parameter's gradient, then the update phase and the optimizers
// (Graph::update(): its update hooks see the gradient of the global batch). Every rank holds the
// whole model and passes the same global batch; it computes only its own groups. The result is
// the same bits on any number of ranks and threads for the same groups; on one process with one
// group it is exactly the plain training step (training_step.hpp).
#pragma once

#include <cstddef>
#include <vector>

#include "cnnkit/communicator.hpp"
#include "cnnkit/graph.hpp"
#include "cnnkit/loss.hpp"

namespace cnnkit {

// What the step saw, summed over the global batch in the same fixed tree.
struct GroupedStepResult {
  double loss = 0.0;        // the loss summed over the groups
  std::size_t correct = 0;  // samples whose most probable class is the label's
  std::size_t samples = 0;  // the global batch
  bool stop = false;        // some rank asked to stop (step's stop_asked)
};

template <typename T>
class GroupedStep {
 public:
  // Throws std::invalid_argument for fewer groups than ranks, or a layer whose forward pass
  // mixes the samples of a batch (BatchNorm: its statistics would be a group's, not the batch's).
  GroupedStep(Graph<T>& graph, Loss<T>& loss, Communicator& communicator, std::size_t groups);

  // One step on the global batch (input (B, ...), one-hot label (B, classes), the B class
  // indices), the same on every rank. Groups without samples (B below the number of groups, in
  // an epoch's last, short batch) add nothing. `stop_asked` rides along with the gradients, so
  // that every rank learns of a stop request without a collective call of its own.
  GroupedStepResult step(const Tensor<T>& input, const Tensor<T>& label,
                         const std::vector<std::size_t>& classes, bool stop_asked = false);

  std::size_t groups() const { return groups_; }
  // Bytes of one rank's partials the last step reduced (gradients plus loss, count and stop).
  std::size_t reduced_bytes() const { return length_ * sizeof(T); }

 private:
  void collect_parameters();

  Graph<T>& graph_;
  Loss<T>& loss_;
  Communicator& communicator_;
  std::size_t groups_;
  std::vector<Parameter<T>*> parameters_;
  std::size_t length_ = 0;  // gradient elements + 3 (loss, correct, stop)
  std::vector<T> leaves_, sum_;
  std::vector<char> present_;
  std::vector<std::size_t> predicted_;
  Tensor<T> group_input_, group_label_;  // a group's rows, buffers reused from group to group
};

extern template class GroupedStep<float>;
extern template class GroupedStep<double>;

}  // namespace cnnkit
