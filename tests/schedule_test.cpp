// Learning-rate schedules (schedule.hpp): the factor at given steps for each schedule, with and
// without warm-up, worked by hand; the factor reaching every optimizer of a graph; bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "cnnkit/graph.hpp"
#include "cnnkit/layers/fully_connected.hpp"
#include "cnnkit/layers/relu.hpp"
#include "cnnkit/schedule.hpp"

namespace cnnkit {
namespace {

ScheduleSpec spec(std::string type, std::size_t warmup = 0) {
  ScheduleSpec s;
  s.type = std::move(type);
  s.warmup_steps = warmup;
  return s;
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

TEST(Schedule, ConstantIsOneAtEveryStep) {
  const LearningRateSchedule schedule(spec("constant"), 100);
  EXPECT_EQ(schedule.scale(0), 1.0);
  EXPECT_EQ(schedule.scale(57), 1.0);
  EXPECT_EQ(schedule.scale(1000), 1.0);
}

TEST(Schedule, WarmUpRisesLinearlyFromTheFirstStep) {
  // (t + 1) / W for t < W = 4, then the schedule proper.
  const LearningRateSchedule schedule(spec("constant", 4), 100);
  EXPECT_EQ(schedule.scale(0), 0.25);
  EXPECT_EQ(schedule.scale(1), 0.5);
  EXPECT_EQ(schedule.scale(2), 0.75);
  EXPECT_EQ(schedule.scale(3), 1.0);
  EXPECT_EQ(schedule.scale(4), 1.0);
}

TEST(Schedule, StepMultipliesByGammaEveryStepSize) {
  ScheduleSpec s = spec("step");
  s.step_size = 3;
  s.gamma = 0.5;
  const LearningRateSchedule schedule(s, 100);
  EXPECT_EQ(schedule.scale(0), 1.0);
  EXPECT_EQ(schedule.scale(2), 1.0);
  EXPECT_EQ(schedule.scale(3), 0.5);
  EXPECT_EQ(schedule.scale(5), 0.5);
  EXPECT_EQ(schedule.scale(6), 0.25);
  EXPECT_EQ(schedule.scale(30), 1.0 / 1024.0);
}

TEST(Schedule, StepAfterWarmUpCountsFromTheWarmUpsEnd) {
  ScheduleSpec s = spec("step", 2);
  s.step_size = 3;
  s.gamma = 0.1;
  const LearningRateSchedule schedule(s, 100);
  EXPECT_EQ(schedule.scale(0), 0.5);
  EXPECT_EQ(schedule.scale(1), 1.0);
  EXPECT_EQ(schedule.scale(2), 1.0);          // u = 0
  EXPECT_EQ(schedule.scale(4), 1.0);          // u = 2
  EXPECT_DOUBLE_EQ(schedule.scale(5), 0.1);   // u = 3
  EXPECT_DOUBLE_EQ(schedule.scale(8), 0.01);  // u = 6
}

TEST(Schedule, CosineFollowsHalfACosineOverTheRun) {
  // lr_t / lr = (1 + cos(pi t / T)) / 2 with T = 10.
  const LearningRateSchedule schedule(spec("cosine"), 10);
  EXPECT_EQ(schedule.total_steps(), 10u);
  EXPECT_EQ(schedule.scale(0), 1.0);
  EXPECT_NEAR(schedule.scale(2), 0.904508497187473712, 1e-15);  // (1 + cos(0.2 pi)) / 2
  EXPECT_NEAR(schedule.scale(5), 0.5, 1e-15);
  EXPECT_NEAR(schedule.scale(9), 0.0244717418524232, 1e-15);  // (1 + cos(0.9 pi)) / 2
  EXPECT_EQ(schedule.scale(10), 0.0);
  EXPECT_EQ(schedule.scale(25), 0.0);  // past the run it stays at the end of the curve
}

TEST(Schedule, CosineAfterWarmUpSpansTheRestOfTheRun) {
  // W = 2, T = 10: warm-up 0.5, 1; then (1 + cos(pi u / 8)) / 2 with u = t - 2.
  const LearningRateSchedule schedule(spec("cosine", 2), 10);
  EXPECT_EQ(schedule.scale(0), 0.5);
  EXPECT_EQ(schedule.scale(1), 1.0);
  EXPECT_EQ(schedule.scale(2), 1.0);
  EXPECT_NEAR(schedule.scale(4), 0.853553390593273762, 1e-15);  // (1 + cos(pi / 4)) / 2
  EXPECT_NEAR(schedule.scale(6), 0.5, 1e-15);
  EXPECT_EQ(schedule.scale(10), 0.0);
}

TEST(Schedule, TotalStepsOfTheSpecOverrideTheRunsLength) {
  ScheduleSpec s = spec("cosine");
  s.total_steps = 20;
  const LearningRateSchedule schedule(s, 10);
  EXPECT_EQ(schedule.total_steps(), 20u);
  EXPECT_NEAR(schedule.scale(10), 0.5, 1e-15);
}

TEST(Schedule, SetsTheScaleOfEveryOptimizerInTheGraph) {
  Graph<double> graph;
  graph.append(std::make_unique<FullyConnected<double>>(3, 4));
  graph.append(std::make_unique<ReLU<double>>());
  graph.append(std::make_unique<FullyConnected<double>>(4, 2));
  for (Layer<double>* layer : graph.layers()) {
    if (layer->trainable()) layer->set_optimizer(Sgd<double>(0.1));
  }
  graph.build();
  set_learning_rate_scale(graph, 0.25);
  ASSERT_EQ(graph.parameters().size(), 4u);
  for (const Parameter<double>* parameter : graph.parameters()) {
    EXPECT_EQ(parameter->optimizer->learning_rate_scale(), 0.25) << parameter->name;
  }
}

TEST(ScheduleBadInput, EachErrorNamesTheOption) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    const char* what;
    std::function<void()> action;
    const char* message;
  };
  const auto step_with = [](std::size_t step_size, double gamma) {
    ScheduleSpec s = spec("step");
    s.step_size = step_size;
    s.gamma = gamma;
    return s;
  };
  ScheduleSpec warmup_over_total = spec("cosine", 11);
  const ScheduleSpec step_without_size = spec("step");
  warmup_over_total.total_steps = 10;
  const Case cases[] = {
      {"unknown type", [] { validate_schedule(spec("linear")); },
       "schedule: expected type constant, step or cosine, got 'linear'"},
      {"step size 0", [&] { validate_schedule(step_with(0, 0.5)); }, "step_size > 0"},
      {"step size not given", [&] { validate_schedule(step_without_size); },
       "schedule: expected step_size > 0 (steps between decays), got 0"},
      {"gamma 0", [&] { validate_schedule(step_with(2, 0.0)); }, "a finite gamma > 0, got 0"},
      {"gamma < 0", [&] { validate_schedule(step_with(2, -0.5)); }, "a finite gamma > 0, got -0.5"},
      {"gamma NaN", [&] { validate_schedule(step_with(2, nan)); }, "a finite gamma > 0, got nan"},
      {"gamma inf", [&] { validate_schedule(step_with(2, inf)); }, "a finite gamma > 0, got inf"},
      {"warm-up longer than total_steps", [&] { validate_schedule(warmup_over_total); },
       "schedule: expected warmup_steps no longer than total_steps (10 steps), got 11"},
      {"warm-up longer than the run", [] { LearningRateSchedule(spec("cosine", 101), 100); },
       "schedule: expected warmup_steps no longer than the run (100 steps), got 101"},
  };
  for (const Case& c : cases) {
    const std::string message = error_of(c.action);
    EXPECT_NE(message.find(c.message), std::string::npos)
        << c.what << "\n  expected to contain: " << c.message << "\n  got: " << message;
  }
  // A warm-up as long as the run is allowed (the cosine part is then empty).
  EXPECT_EQ(LearningRateSchedule(spec("cosine", 100), 100).scale(99), 1.0);
}

}  // namespace
}  // namespace cnnkit
