#include "bench_profile.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>
#include <vector>

#include "cnnkit/threading.hpp"
#include "cnnkit/training_step.hpp"

namespace cnnkit::cli {

namespace {

// Milliseconds: of the calling thread's CPU time on one thread (robust on a busy machine), else
// of wall time.
double now_ms() {
  if (num_threads() == 1) {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
  }
  return 1e3 *
         std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

void print_profile(Graph<float>& graph, Loss<float>& loss, const Tensor<float>& input,
                   const Tensor<float>& label, const Tensor<float>& infer_input, std::size_t warmup,
                   std::size_t steps) {
  const std::size_t nodes = graph.size();
  std::vector<std::vector<double>> forward_ms(nodes), backward_ms(nodes), infer_ms(nodes);
  std::vector<double> loss_update_ms;
  bool timing = false;
  bool inferring = false;
  double last = 0.0;
  graph.set_observer([&](std::size_t node, bool backward) {
    const double t = now_ms();
    if (timing)
      (inferring ? infer_ms : backward ? backward_ms : forward_ms)[node].push_back(t - last);
    last = now_ms();
  });
  Tensor<float> step_input = input;
  for (std::size_t step = 0; step < warmup + steps; ++step) {
    timing = step >= warmup;
    std::copy(input.begin(), input.end(), step_input.begin());
    inferring = false;
    last = now_ms();
    (void)forward_and_loss(graph, loss, std::move(step_input), label, "bench");
    // The loss's backward counts to the first node's backward (the output node); the update
    // phase is what is left of backward_and_update.
    const double before = now_ms();
    double nodes_ms = 0.0;
    last = before;
    step_input = backward_and_update(graph, loss, label);
    const double after = now_ms();
    if (timing) {
      for (std::size_t node = 0; node < nodes; ++node) nodes_ms += backward_ms[node].back();
      loss_update_ms.push_back(after - before - nodes_ms);
    }
    inferring = true;
    last = now_ms();
    (void)graph.infer(infer_input);
  }
  graph.set_observer(nullptr);
  double train_total = median(loss_update_ms);
  double infer_total = 0.0;
  std::printf(
      "  profile (ms of %s, median of %zu steps; training batch %zu, inference batch %zu)\n",
      num_threads() == 1 ? "thread CPU time" : "wall time", steps, input.dim(0),
      infer_input.dim(0));
  std::printf("  %-22s %-20s %9s %9s %9s\n", "node", "type", "forward", "backward", "inference");
  for (std::size_t node : graph.order()) {
    const double f = median(forward_ms[node]), b = median(backward_ms[node]),
                 i = median(infer_ms[node]);
    train_total += f + b;
    infer_total += i;
    std::printf("  %-22s %-20s %9.3f %9.3f %9.3f\n", graph.name(node).c_str(),
                graph.layer(node).type().c_str(), f, b, i);
  }
  std::printf("  %-22s %-20s %9s %9.3f\n", "(update phase)", "", "", median(loss_update_ms));
  std::printf("  %-22s %-20s %19.3f %9.3f\n", "total", "", train_total, infer_total);
}

}  // namespace cnnkit::cli
