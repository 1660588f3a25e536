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

}  // namespace

template <typename T>
GroupedStep<T>::GroupedStep(Graph<T>& graph, Loss<T>& loss, Communicator& communicator,
                            std::size_t groups)
    : graph_(graph), loss_(loss), communicator_(communicator), groups_(groups) {
  detail::require(
      groups >= 1 && groups >= communicator.size(), kName, "at least one group of samples per rank",
      std::to_string(groups) + " groups on " + std::to_string(communicator.size()) + " ranks");
  // A group's mean would divide by the group's samples, not the global batch's.
  detail::require(loss.reduction() == Reduction::kSum, kName,
                  "a loss summed over the batch (reduction sum)",
                  "reduction " + to_string(loss.reduction()));
  for (const Layer<T>* layer : graph.layers()) {
    // BatchNorm's statistics would be those of a group: synchronised batch statistics are not
    // there yet (docs/DISTRIBUTED.md).
    detail::require(layer->type() != "BatchNorm", kName,
                    "layers whose forward pass keeps each sample to itself",
                    "a BatchNorm layer (its statistics would be a group's, not the batch's)");
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
GroupedStepResult GroupedStep<T>::step(const Tensor<T>& input, const Tensor<T>& label,
                                       const std::vector<std::size_t>& classes, bool stop_asked) {
  const std::size_t batch = input.dim(0);
  detail::require(label.rank() == 2 && label.dim(0) == batch && classes.size() == batch, kName,
                  "a label row and a class per sample (" + std::to_string(batch) + ")",
                  to_string(label.shape()) + " and " + std::to_string(classes.size()));
  if (parameters_.empty()) collect_parameters();
  const GroupShare mine = group_share(groups_, communicator_.size(), communicator_.rank());
  present_.assign(groups_, 0);
  for (std::size_t k = 0; k < groups_; ++k) {
    present_[k] = runtime::share(batch, groups_, k + 1) > runtime::share(batch, groups_, k);
  }
  leaves_.resize((mine.last_group - mine.first_group) * length_);
  sum_.resize(length_);

  const StepContext step_context = graph_.step_context();
  const std::uint64_t step_first_sample = step_context.first_sample;
  for (std::size_t k = mine.first_group; k < mine.last_group; ++k) {
    if (!present_[k]) continue;
    const std::size_t first = runtime::share(batch, groups_, k);
    const std::size_t last = runtime::share(batch, groups_, k + 1);
    std::size_t correct = 0;
    const std::function<void(const Tensor<T>&)> count_correct = [&](const Tensor<T>& prediction) {
      argmax_rows(prediction, predicted_);
      for (std::size_t n = 0; n < predicted_.size(); ++n) {
        if (predicted_[n] == classes[first + n]) ++correct;
      }
    };
    // The group's samples keep their places in the global batch (dropout is keyed by them).
    StepContext context = graph_.step_context();
    context.first_sample = step_first_sample + first;
    graph_.set_step_context(context);
    group_label_ = rows(label, first, last, std::move(group_label_));
    const T group_loss =
        forward_and_loss(graph_, loss_, rows(input, first, last, std::move(group_input_)),
                         group_label_, "train", count_correct);
    // The spent input comes back for the next group's rows.
    group_input_ = graph_.backward(loss_.backward(group_label_));
    T* leaf = leaves_.data() + (k - mine.first_group) * length_;
    for (const Parameter<T>* parameter : parameters_) {
      detail::require(parameter->gradient.size() == parameter->value.size(), kName,
                      "a gradient of the shape of " + parameter->name,
                      to_string(parameter->gradient.shape()));
      leaf = std::copy(parameter->gradient.begin(), parameter->gradient.end(), leaf);
    }
    leaf[0] = group_loss;
    leaf[1] = static_cast<T>(correct);
    // In every group of the rank: a rank whose groups are all empty (a short last batch below
    // the group count) passes its request on with the next batch.
    leaf[2] = stop_asked ? T(1) : T(0);
  }

  graph_.set_step_context(step_context);
  fixed_tree_sum<T>(communicator_, length_, std::span<T>(leaves_), present_, std::span<T>(sum_));

  const T* summed = sum_.data();
  for (Parameter<T>* parameter : parameters_) {
    std::copy(summed, summed + parameter->value.size(), parameter->gradient.begin());
    summed += parameter->value.size();
  }
  graph_.update();
  return {static_cast<double>(summed[0]), static_cast<std::size_t>(std::lround(summed[1])), batch,
          summed[2] > T(0)};
}

template class GroupedStep<float>;
template class GroupedStep<double>;

}  // namespace cnnkit
