// `cnnkit train`'s update-phase options: each bad value a usage error naming the option, the
// settings shown and kept in the model file, and a run with a cosine schedule continued with
// --resume giving the uninterrupted run's model byte for byte.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_test_helpers.hpp"
#include "cnnkit/model/model_file.hpp"

namespace cnnkit {
namespace {

using testing::Result;

class CliUpdateOptions : public testing::CliSuite {
 protected:
  static std::vector<std::string> iris(const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args{"train",
                                  "--model",
                                  "iris-mlp",
                                  "--data",
                                  "iris",
                                  "--seed",
                                  "5",
                                  "--threads",
                                  "1",
                                  "--out",
                                  (root_ / out).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

TEST_F(CliUpdateOptions, BadValuesAreUsageErrorsNamingTheOption) {
  const std::string wd = "--weight-decay: expected a finite number >= 0, got ";
  const std::string clip = "--clip-norm: expected a finite number above 0, got ";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--weight-decay", "-0.1"}, wd + "'-0.1'"},
      {{"--weight-decay", "nan"}, wd + "'nan'"},
      {{"--weight-decay", "inf"}, wd + "'inf'"},
      {{"--clip-norm", "0"}, clip + "'0'"},
      {{"--clip-norm", "-2"}, clip + "'-2'"},
      {{"--gamma", "0"}, "--gamma: expected a finite number above 0, got '0'"},
      {{"--warmup-steps", "-1"},
       "--warmup-steps: expected a whole number from 0 to 1000000000, got '-1'"},
      {{"--step-size", "0"}, "--step-size: expected a whole number from 1 to 1000000000, got '0'"},
      {{"--total-steps", "-3"},
       "--total-steps: expected a whole number from 1 to 1000000000, got '-3'"},
      {{"--schedule", "linear"}, "--schedule"},
      {{"--schedule", "cosine", "--step-size", "5"},
       "--step-size: expected --schedule step, got the schedule cosine"},
      {{"--gamma", "0.5"}, "--gamma: expected --schedule step, got the schedule constant"},
      {{"--schedule", "step"},
       "--schedule step: expected --step-size N (steps between decays), got none"},
  };
  for (const auto& [extra, message] : cases) {
    SCOPED_TRACE(extra[0] + " " + extra[1]);
    const Result result = run(iris("bad", extra));
    EXPECT_EQ(result.exit_code, 2) << result.err;
    testing::expect_one_error_line(result, "train");
    EXPECT_NE(result.err.find(message), std::string::npos)
        << "expected: " << message << "\ngot: " << result.err;
  }
}

TEST_F(CliUpdateOptions, WarmUpLongerThanTheRunIsAnError) {
  // Iris: 100 training samples, batch 64: 2 steps per epoch.
  const Result result =
      run(iris("long", {"--epochs", "1", "--schedule", "cosine", "--warmup-steps", "3"}));
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("schedule: expected warmup_steps no longer than the run (2 steps), "
                            "got 3"),
            std::string::npos)
      << result.err;
}

TEST_F(CliUpdateOptions, CosineRunResumedEqualsTheUninterruptedOne) {
  const std::vector<std::string> settings{
      "--optimizer", "adamw",  "--learning-rate",         "0.05", "--weight-decay", "0.01",
      "--schedule",  "cosine", "--warmup-steps",          "2",    "--total-steps",  "8",
      "--clip-norm", "1",      "--no-decay-bias-and-norm"};
  std::vector<std::string> two = settings;
  two.insert(two.end(), {"--epochs", "4"});
  const Result straight = run(iris("straight", two));
  ASSERT_EQ(straight.exit_code, 0) << straight.err;
  EXPECT_NE(straight.out.find("AdamW learning rate 0.05, weight decay 0.01 (decoupled, not on bias "
                              "and norm), cosine schedule (warm-up 2 steps), clip norm 1"),
            std::string::npos)
      << straight.out;

  std::vector<std::string> one = settings;
  one.insert(one.end(), {"--epochs", "2"});
  ASSERT_EQ(run(iris("resumed", one)).exit_code, 0);
  const Result other = run({"train", "--resume", "--epochs", "4", "--schedule", "step",
                            "--step-size", "2", "--out", (root_ / "resumed").string()});
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(
      other.err.find("expected the optimizer, update settings and loss reduction of the run being "
                     "continued"),
      std::string::npos)
      << other.err;
  const Result resumed =
      run({"train", "--resume", "--epochs", "4", "--out", (root_ / "resumed").string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

  const std::string a = testing::read_file(root_ / "straight" / "model.safetensors");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, testing::read_file(root_ / "resumed" / "model.safetensors"));
  const Model<float> model = load_model<float>((root_ / "resumed" / "model.safetensors").string());
  EXPECT_EQ(model.description.schedule.type, "cosine");
  EXPECT_EQ(model.description.schedule.total_steps, 8u);
  EXPECT_EQ(model.description.clip_norm, 1.0);
  EXPECT_EQ(model.description.optimizer.weight_decay, 0.01);
}

}  // namespace
}  // namespace cnnkit
