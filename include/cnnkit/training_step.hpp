// One training step on the engine, written once and read top to bottom:
//   forward through the graph -> loss -> loss backward -> graph backward (gradients only)
//   -> update phase -> optimizers.
// NeuralNetwork (forward() / backward()), the tool's trainer and the benchmarks call these two.
#pragma once

#include <functional>
#include <string_view>

#include "cnnkit/graph.hpp"
#include "cnnkit/loss.hpp"

namespace cnnkit {

// The graph's prediction for the batch in the training phase, handed to the loss; returns the
// loss. `inspect` (if set) sees the prediction before the loss takes it. A layer or loss that
// rejects its input throws std::invalid_argument prefixed with `caller`.
template <typename T>
T forward_and_loss(Graph<T>& graph, Loss<T>& loss, Tensor<T>&& input, const Tensor<T>& label,
                   std::string_view caller,
                   const std::function<void(const Tensor<T>&)>& inspect = {});

// The second half of forward_and_loss: a prediction the graph made, handed to the loss.
template <typename T>
T loss_of_prediction(Loss<T>& loss, Tensor<T>&& prediction, const Tensor<T>& label,
                     std::string_view caller,
                     const std::function<void(const Tensor<T>&)>& inspect = {});

// The loss's error back through the graph (gradients only), then graph.update(): the update
// phase and the optimizers. Returns a spent buffer of the input's shape (for the next batch).
template <typename T>
Tensor<T> backward_and_update(Graph<T>& graph, Loss<T>& loss, const Tensor<T>& label);

}  // namespace cnnkit
