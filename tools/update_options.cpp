// The update-phase options of `cnnkit train` (update_options.hpp).
#include "update_options.hpp"

#include <sstream>

#include "command.hpp"
#include "number_options.hpp"

namespace cnnkit::cli {

bool UpdateArguments::given() const {
  return weight_decay || no_decay_bias_and_norm || !schedule.empty() || warmup_steps || step_size ||
         gamma || total_steps || clip_norm;
}

void add_update_options(CLI::App& train, UpdateArguments& args) {
  train
      .add_option("--weight-decay", args.weight_decay,
                  "Weight decay: decoupled with --optimizer adamw, else L2 (added to the gradient)")
      ->check(non_negative_finite_number());
  train.add_flag("--no-decay-bias-and-norm", args.no_decay_bias_and_norm,
                 "Leave biases and BatchNorm's scale and shift out of weight decay");
  train.add_option("--schedule", args.schedule, "Learning-rate schedule over the run's steps")
      ->check(CLI::IsMember({"constant", "step", "cosine"}));
  train
      .add_option("--warmup-steps", args.warmup_steps,
                  "Linear warm-up steps before the schedule (default: 0)")
      ->check(whole_number(0, kMaxSteps));
  train.add_option("--step-size", args.step_size, "--schedule step: steps between decays")
      ->check(whole_number(1, kMaxSteps));
  train.add_option("--gamma", args.gamma, "--schedule step: the factor of each decay (0.1)")
      ->check(positive_finite_number());
  train
      .add_option("--total-steps", args.total_steps,
                  "The schedule's length in steps (default: epochs * batches per epoch)")
      ->check(whole_number(1, kMaxSteps));
  train.add_option("--clip-norm", args.clip_norm, "Clip the gradients to this global norm")
      ->check(positive_finite_number());
}

void apply_update_overrides(ModelDescription& description, const UpdateArguments& args) {
  if (args.weight_decay) description.optimizer.weight_decay = *args.weight_decay;
  if (args.no_decay_bias_and_norm) description.optimizer.decay_bias_and_norm = false;
  ScheduleSpec& schedule = description.schedule;
  if (!args.schedule.empty() && args.schedule != schedule.type) {
    // Another type starts from its defaults; the warm-up and the length stay.
    const ScheduleSpec before = schedule;
    schedule = ScheduleSpec{};
    schedule.type = args.schedule;
    schedule.warmup_steps = before.warmup_steps;
    schedule.total_steps = before.total_steps;
  }
  if ((args.step_size || args.gamma) && schedule.type != "step") {
    throw UsageError(std::string(args.step_size ? "--step-size" : "--gamma") +
                     ": expected --schedule step, got the schedule " + schedule.type);
  }
  if (args.step_size) schedule.step_size = *args.step_size;
  if (schedule.type == "step" && schedule.step_size == 0) {
    throw UsageError("--schedule step: expected --step-size N (steps between decays), got none");
  }
  if (args.gamma) schedule.gamma = *args.gamma;
  if (args.warmup_steps) schedule.warmup_steps = *args.warmup_steps;
  if (args.total_steps) schedule.total_steps = *args.total_steps;
  if (args.clip_norm) description.clip_norm = *args.clip_norm;
}

std::string update_settings_text(const ModelDescription& description) {
  std::ostringstream text;
  const OptimizerSpec& optimizer = description.optimizer;
  if (optimizer.weight_decay > 0) {
    text << ", weight decay " << optimizer.weight_decay
         << (optimizer.type == "AdamW" ? " (decoupled" : " (L2")
         << (optimizer.decay_bias_and_norm ? ")" : ", not on bias and norm)");
  }
  const ScheduleSpec& schedule = description.schedule;
  if (schedule != ScheduleSpec{}) {
    text << ", " << schedule.type << " schedule";
    if (schedule.warmup_steps > 0) text << " (warm-up " << schedule.warmup_steps << " steps)";
  }
  if (description.clip_norm > 0) text << ", clip norm " << description.clip_norm;
  return text.str();
}

}  // namespace cnnkit::cli
