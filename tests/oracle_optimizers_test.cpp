// The optimizers and learning-rate schedules against the values scripts/torch_optimizer_oracle.py
// computed and committed as tests/data/oracle/optimizers.json: PyTorch 1.13's SGD, Adam and AdamW
// (L2 weight decay as their weight_decay), and the lecture's momentum formula evaluated in float64
// for SgdWithMomentum. Each case replays several steps from random weights with random gradients,
// each at its schedule's rate, and compares the weights after every step: within
// 1e-5 (|b| + rms(b)) in float and 1e-12 (|b| + rms(b)) in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cnnkit/model/model.hpp"
#include "cnnkit/optimizers.hpp"
#include "cnnkit/parameter.hpp"
#include "cnnkit/schedule.hpp"
#include "cnnkit/weight_decay.hpp"
#include "oracle_helpers.hpp"

namespace cnnkit {
namespace {

using nlohmann::json;

OptimizerSpec optimizer_spec_from(const json& value) {
  OptimizerSpec spec;
  spec.type = value.at("type").get<std::string>();
  spec.learning_rate = value.at("learning_rate").get<double>();
  spec.mu = value.value("mu", spec.mu);
  spec.rho = value.value("rho", spec.rho);
  spec.epsilon = value.value("epsilon", spec.epsilon);
  spec.momentum = value.value("momentum", spec.momentum);
  spec.weight_decay = value.value("weight_decay", spec.weight_decay);
  return spec;
}

ScheduleSpec schedule_spec_from(const json& value) {
  ScheduleSpec spec;
  spec.type = value.at("type").get<std::string>();
  spec.step_size = value.value("step_size", spec.step_size);
  spec.gamma = value.value("gamma", spec.gamma);
  spec.warmup_steps = value.value("warmup_steps", spec.warmup_steps);
  spec.total_steps = value.value("total_steps", spec.total_steps);
  return spec;
}

template <typename T>
void expect_optimizers_match_reference(double tolerance) {
  const json oracle = test::load_oracle("optimizers");
  const std::size_t steps = oracle.at("steps").get<std::size_t>();
  ASSERT_FALSE(oracle.at("cases").empty());
  for (const json& c : oracle.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name + " (reference: " + c.at("reference").get<std::string>() + ")");
    const std::unique_ptr<Optimizer<T>> optimizer =
        build_optimizer<T>(optimizer_spec_from(c.at("optimizer")));
    const LearningRateSchedule schedule(schedule_spec_from(c.at("schedule")), steps);
    const T l2 = static_cast<T>(c.at("l2_weight_decay").get<double>());
    Parameter<T> parameter("weights", test::tensor_from<T>(c.at("weights")));
    ASSERT_EQ(c.at("steps").size(), steps);
    for (std::size_t t = 0; t < steps; ++t) {
      const json& step = c.at("steps")[t];
      // The schedule's factor is a double computed the same way on both sides.
      const double scale = step.at("scale").get<double>();
      EXPECT_NEAR(schedule.scale(t), scale, 1e-15 * std::abs(scale)) << "step " << t;
      parameter.gradient = test::tensor_from<T>(step.at("gradient"));
      if (l2 != T(0)) add_l2_penalty(parameter, l2);
      optimizer->set_learning_rate_scale(static_cast<T>(schedule.scale(t)));
      optimizer->update(parameter.value, parameter.gradient);
      test::expect_close(parameter.value, step.at("weights"),
                         name + " weights after step " + std::to_string(t), tolerance);
    }
  }
}

TEST(OracleOptimizers, FloatWithinOneInHundredThousand) {
  expect_optimizers_match_reference<float>(1e-5);
}

TEST(OracleOptimizers, DoubleWithinOneInATrillion) {
  expect_optimizers_match_reference<double>(1e-12);
}

}  // namespace
}  // namespace cnnkit
