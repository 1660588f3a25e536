// The learning-rate schedules of schedule.hpp.
#include "cnnkit/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

#include "check.hpp"
#include "cnnkit/graph.hpp"

namespace cnnkit {

namespace {

constexpr const char* kComponent = "schedule";

void require_warmup_fits(const ScheduleSpec& spec, std::uint64_t total_steps,
                         const std::string& run) {
  detail::require(
      spec.warmup_steps <= total_steps, kComponent,
      "warmup_steps no longer than " + run + " (" + std::to_string(total_steps) + " steps)",
      std::to_string(spec.warmup_steps));
}

}  // namespace

void validate_schedule(const ScheduleSpec& spec) {
  detail::require(spec.type == "constant" || spec.type == "step" || spec.type == "cosine",
                  kComponent, "type constant, step or cosine", "'" + spec.type + "'");
  if (spec.type == "step") {
    detail::require(spec.step_size > 0, kComponent, "step_size > 0 (steps between decays)", "0");
    // The comparison is false for NaN, so NaN is rejected too.
    detail::require(spec.gamma > 0 && std::isfinite(spec.gamma), kComponent, "a finite gamma > 0",
                    detail::format_number(spec.gamma));
  }
  if (spec.total_steps > 0) require_warmup_fits(spec, spec.total_steps, "total_steps");
}

LearningRateSchedule::LearningRateSchedule(ScheduleSpec spec, std::uint64_t run_steps)
    : spec_(std::move(spec)), total_steps_(spec_.total_steps > 0 ? spec_.total_steps : run_steps) {
  validate_schedule(spec_);
  require_warmup_fits(spec_, total_steps_, "the run");
}

double LearningRateSchedule::scale(std::uint64_t step) const {
  const std::uint64_t warmup = spec_.warmup_steps;
  if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
  const std::uint64_t u = step - warmup;
  if (spec_.type == "step") {
    return std::pow(spec_.gamma, static_cast<double>(u / spec_.step_size));
  }
  if (spec_.type == "cosine") {
    const std::uint64_t span = total_steps_ - warmup;
    // A warm-up as long as the run leaves no cosine part: past it the rate has decayed.
    if (span == 0) return 0.0;
    const double progress = static_cast<double>(std::min(u, span)) / static_cast<double>(span);
    return 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  }
  return 1.0;
}

template <typename T>
void set_learning_rate_scale(Graph<T>& graph, double scale) {
  const T factor = static_cast<T>(scale);
  for (Parameter<T>* parameter : graph.parameters()) {
    if (parameter->optimizer) parameter->optimizer->set_learning_rate_scale(factor);
  }
}

template void set_learning_rate_scale<float>(Graph<float>&, double);
template void set_learning_rate_scale<double>(Graph<double>&, double);

}  // namespace cnnkit
