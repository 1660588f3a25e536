// Learning-rate schedules: the factor every optimizer's learning rate is multiplied by at training
// step t (t = 0, 1, ... counting the optimizer steps of the run), set through
// Optimizer::set_learning_rate_scale before each step's update phase.
//
//   constant  1
//   step      gamma^floor(u / step_size)
//   cosine    (1 + cos(pi min(u, U) / U)) / 2   (without warm-up: lr_t = lr / 2 (1 + cos(pi t /
//   T)))
//
// with u = t - W and U = T - W, T the run's length in steps and W the linear warm-up's: for
// t < W the factor is (t + 1) / W, so the first step already learns and step W - 1 reaches the
// full rate, from which the schedule proper starts at u = 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cnnkit {

template <typename T>
class Graph;

// A schedule as a model description holds it (JSON "schedule"). Fields of other types keep their
// defaults.
struct ScheduleSpec {
  std::string type = "constant";  // "constant", "step" or "cosine"
  std::size_t step_size = 0;      // step: gamma once every step_size steps (> 0; no default)
  double gamma = 0.1;             // step: the factor (finite, > 0)
  std::size_t warmup_steps = 0;   // W: the linear warm-up (0: none)
  // T: the run's length in steps; 0 means epochs * ceil(N / batch) of the run being trained. Give
  // it to keep one curve across runs of different --epochs.
  std::size_t total_steps = 0;

  bool operator==(const ScheduleSpec&) const = default;
};

// Throws std::invalid_argument naming the field when the spec makes no sense in any run: an
// unknown type, step_size 0, gamma <= 0 or not finite, a warm-up longer than a given total_steps.
void validate_schedule(const ScheduleSpec& spec);

// A validated spec for a run of total_steps steps.
class LearningRateSchedule {
 public:
  // spec.total_steps, if given, is the run's length, else run_steps (epochs * batches per epoch).
  // Throws std::invalid_argument as validate_schedule does, and when the warm-up is longer than
  // the run.
  LearningRateSchedule(ScheduleSpec spec, std::uint64_t run_steps);

  // The factor at step t (0-based). Past the run a cosine stays at 0 and a step schedule goes on
  // decaying.
  double scale(std::uint64_t step) const;
  std::uint64_t total_steps() const { return total_steps_; }
  const ScheduleSpec& spec() const { return spec_; }

 private:
  ScheduleSpec spec_;
  std::uint64_t total_steps_;
};

// Sets the learning-rate scale of every parameter's optimizer in the graph (built: after a
// forward()); allocates nothing.
template <typename T>
void set_learning_rate_scale(Graph<T>& graph, double scale);

extern template void set_learning_rate_scale<float>(Graph<float>&, double);
extern template void set_learning_rate_scale<double>(Graph<double>&, double);

}  // namespace cnnkit
