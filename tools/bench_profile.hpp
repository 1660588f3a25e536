// cnnkit bench --profile: where a training step and an inference call of a model spend their
// time, node by node of its graph (Graph::set_observer), as the median over the timed steps.
#pragma once

#include <cstddef>

#include "cnnkit/graph.hpp"
#include "cnnkit/loss.hpp"

namespace cnnkit::cli {

// Prints one line per node (forward and backward of a training step on `input` / `label`, and
// forward of inference on `infer_input`) and one for the loss plus the update phase. Each node's
// time is the time since the previous node (or the start of the pass) ended: thread CPU time on
// one thread, else wall time.
void print_profile(Graph<float>& graph, Loss<float>& loss, const Tensor<float>& input,
                   const Tensor<float>& label, const Tensor<float>& infer_input, std::size_t warmup,
                   std::size_t steps);

}  // namespace cnnkit::cli
