// The update-phase settings in JSON descriptions: weight decay (L2 and AdamW), "schedule" and
// "clip_norm" read, written back unchanged, applied by build_model, and every bad value an error
// naming its key.
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "model_description_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::BadCase;
using testing::expect_messages;

// A small network with these keys beside "layers".
std::string with_settings(const std::string& settings) {
  return R"({"name": "t", "input_shape": [4],
             "layers": [{"type": "FullyConnected", "outputs": 3}, {"type": "SoftMax"}], )" +
         settings + "}";
}

TEST(UpdateSettingsDescription, ReadAndWrittenBack) {
  const ModelDescription d = parse_model_description(with_settings(R"(
      "optimizer": {"type": "AdamW", "learning_rate": 0.01, "weight_decay": 1e-4,
                    "decay_bias_and_norm": false},
      "schedule": {"type": "cosine", "warmup_steps": 100, "total_steps": 1000},
      "clip_norm": 2.5)"));
  EXPECT_EQ(d.optimizer.type, "AdamW");
  EXPECT_EQ(d.optimizer.weight_decay, 1e-4);
  EXPECT_FALSE(d.optimizer.decay_bias_and_norm);
  EXPECT_EQ(d.schedule.type, "cosine");
  EXPECT_EQ(d.schedule.warmup_steps, 100u);
  EXPECT_EQ(d.schedule.total_steps, 1000u);
  EXPECT_EQ(d.clip_norm, 2.5);
  EXPECT_EQ(parse_model_description(to_json(d)), d);

  const ModelDescription step = parse_model_description(with_settings(R"(
      "optimizer": {"type": "SgdWithMomentum", "weight_decay": 5e-4},
      "schedule": {"type": "step", "step_size": 30, "gamma": 0.5})"));
  EXPECT_EQ(step.schedule.step_size, 30u);
  EXPECT_EQ(step.schedule.gamma, 0.5);
  EXPECT_EQ(step.optimizer.weight_decay, 5e-4);
  EXPECT_EQ(parse_model_description(to_json(step)), step);
}

TEST(UpdateSettingsDescription, DefaultsAreLeftOutOfTheJson) {
  const ModelDescription d =
      parse_model_description(with_settings(R"("loss": "CrossEntropyLoss")"));
  EXPECT_EQ(d.schedule, ScheduleSpec{});
  EXPECT_EQ(d.clip_norm, 0.0);
  EXPECT_EQ(d.optimizer.weight_decay, 0.0);
  const std::string json = to_json(d);
  for (const char* key : {"schedule", "clip_norm", "weight_decay", "decay_bias_and_norm"}) {
    EXPECT_EQ(json.find(key), std::string::npos) << key;
  }
}

TEST(UpdateSettingsDescription, BuildModelAddsTheUpdateHooks) {
  ModelDescription d = parse_model_description(with_settings(R"("clip_norm": 1.0)"));
  EXPECT_EQ(build_model<float>(d).graph.update_hooks().size(), 1u);
  d.optimizer.weight_decay = 1e-3;  // Adam: L2 in the update phase
  EXPECT_EQ(build_model<float>(d).graph.update_hooks().size(), 2u);
  d.optimizer.type = "AdamW";  // decoupled: inside the optimizer
  EXPECT_EQ(build_model<float>(d).graph.update_hooks().size(), 1u);
  d.clip_norm = 0.0;
  EXPECT_TRUE(build_model<double>(d).graph.update_hooks().empty());
}

TEST(UpdateSettingsDescription, EachBadValueNamesItsKey) {
  expect_messages({
      {"negative weight decay",
       with_settings(R"("optimizer": {"type": "Sgd", "weight_decay": -0.1})"),
       "net.json: optimizer weight_decay: expected a finite value >= 0, got -0.1"},
      {"negative AdamW weight decay",
       with_settings(R"("optimizer": {"type": "AdamW", "weight_decay": -1})"),
       "optimizer: AdamW: expected a finite weight_decay >= 0, got -1"},
      {"weight decay not a number",
       with_settings(R"("optimizer": {"type": "Adam", "weight_decay": "1e-4"})"),
       "optimizer (Adam) weight_decay: expected a finite number, got \"1e-4\""},
      {"flag not a bool",
       with_settings(R"("optimizer": {"type": "AdamW", "decay_bias_and_norm": 0})"),
       "optimizer (AdamW) decay_bias_and_norm: expected true or false, got 0"},
      {"unknown schedule type", with_settings(R"("schedule": {"type": "linear"})"),
       "net.json: schedule: expected type constant, step or cosine, got 'linear'"},
      {"unknown schedule key", with_settings(R"("schedule": {"type": "cosine", "warmup": 10})"),
       "schedule (cosine): unknown parameter 'warmup' (known: type, warmup_steps, total_steps)"},
      {"step key on cosine", with_settings(R"("schedule": {"type": "cosine", "gamma": 0.1})"),
       "schedule (cosine): unknown parameter 'gamma'"},
      {"schedule not an object", with_settings(R"("schedule": "cosine")"),
       "schedule: expected an object {\"type\": ...}, got \"cosine\""},
      {"negative warm-up", with_settings(R"("schedule": {"type": "cosine", "warmup_steps": -5})"),
       "schedule (cosine) warmup_steps: expected a whole number >= 0, got -5"},
      {"fractional steps", with_settings(R"("schedule": {"type": "step", "step_size": 2.5})"),
       "schedule (step) step_size: expected a whole number >= 0, got 2.5"},
      {"step without step_size", with_settings(R"("schedule": {"type": "step"})"),
       "schedule (step): expected a key \"step_size\", got none"},
      {"step size 0", with_settings(R"("schedule": {"type": "step", "step_size": 0})"),
       "schedule: expected step_size > 0"},
      {"gamma 0", with_settings(R"("schedule": {"type": "step", "step_size": 3, "gamma": 0})"),
       "schedule: expected a finite gamma > 0, got 0"},
      {"gamma negative",
       with_settings(R"("schedule": {"type": "step", "step_size": 3, "gamma": -0.5})"),
       "schedule: expected a finite gamma > 0, got -0.5"},
      {"warm-up longer than the run",
       with_settings(R"("schedule": {"type": "cosine", "warmup_steps": 20, "total_steps": 10})"),
       "schedule: expected warmup_steps no longer than total_steps (10 steps), got 20"},
      {"clip norm 0", with_settings(R"("clip_norm": 0)"),
       "net.json: clip_norm: expected a number > 0 (leave the key out for no clipping), got 0"},
      {"clip norm negative", with_settings(R"("clip_norm": -1.5)"),
       "clip_norm: expected a number > 0 (leave the key out for no clipping), got -1.5"},
      {"clip norm not a number", with_settings(R"("clip_norm": [1])"),
       "clip_norm: expected a finite number, got [1]"},
      {"clip norm out of range", with_settings(R"("clip_norm": 1e999)"), "invalid JSON"},
  });
}

TEST(UpdateSettingsDescription, NonFiniteValuesFromCppAreRejected) {
  ModelDescription d = parse_model_description(with_settings(R"("loss": "CrossEntropyLoss")"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const auto message = [](const ModelDescription& bad) -> std::string {
    try {
      validate(bad);
    } catch (const std::invalid_argument& error) {
      return error.what();
    }
    return "";
  };
  ModelDescription bad = d;
  bad.optimizer.weight_decay = nan;
  EXPECT_EQ(message(bad),
            "model 't': optimizer weight_decay: expected a finite value >= 0, got nan");
  bad = d;
  bad.clip_norm = inf;
  EXPECT_EQ(message(bad),
            "model 't': clip_norm: expected a finite value > 0 (or 0: no clipping), got inf");
  bad = d;
  bad.schedule.type = "step";
  bad.schedule.step_size = 3;
  bad.schedule.gamma = nan;
  EXPECT_EQ(message(bad), "model 't': schedule: expected a finite gamma > 0, got nan");
  EXPECT_THROW(build_model<float>(bad), std::invalid_argument);
}

}  // namespace
}  // namespace cnnkit
