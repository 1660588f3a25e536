// Every numeric option of every command read as a whole number in its range (or a positive
// finite number): a negative, absurd or malformed value is a usage error (exit code 2) naming the
// option, the range and what came, before anything runs. Each command line would otherwise get
// past parsing (the model or data it names does not exist), so a value that slips through shows
// as exit code 1, not as a run that never ends.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_test_helpers.hpp"

namespace cnnkit {
namespace {

using testing::Result;

class CliOptionsTest : public testing::CliSuite {};

struct BadValue {
  std::vector<std::string> args;
  std::string message;  // expected part of stderr
};

TEST_F(CliOptionsTest, NegativeAbsurdAndMalformedNumbersAreUsageErrors) {
  const std::vector<std::string> train{"train",
                                       "--model",
                                       "digits-cnn",
                                       "--data",
                                       "csv:" + (root_ / "none.csv").string(),
                                       "--out",
                                       (root_ / "run").string()};
  const std::string missing_model = (root_ / "none.safetensors").string();
  const std::vector<std::string> eval{"eval", "--model", missing_model, "--data", "digits"};
  const std::vector<std::string> predict{"predict", "--model", missing_model, "a.png"};
  const std::vector<std::string> bench{"bench", "--model", (root_ / "none.json").string()};
  const std::string epochs = "--epochs: expected a whole number from 1 to 1000000, got ";
  const std::string batch = ": expected a whole number from 1 to 65536, got ";
  const std::string seed = "--seed: expected a whole number from 0 to 18446744073709551615, got ";
  const std::string threads = "--threads: expected a whole number from 0 to 1024, got ";
  const std::string rate = "--learning-rate: expected a finite number above 0, got ";
  const std::string count = ": expected a whole number from 1 to 1000000, got ";
  const std::vector<std::pair<std::vector<std::string>, BadValue>> cases{
      {train, {{"--epochs", "-1"}, epochs + "'-1'"}},
      {train, {{"--epochs", "0"}, epochs + "'0'"}},
      {train, {{"--epochs", "18446744073709551615"}, epochs + "'18446744073709551615'"}},
      {train, {{"--epochs", "0x10"}, epochs + "'0x10'"}},
      {train, {{"--epochs", "+3"}, epochs + "'+3'"}},
      {train, {{"--batch-size", "-1"}, "--batch-size" + batch + "'-1'"}},
      {train, {{"--batch-size", "65537"}, "--batch-size" + batch + "'65537'"}},
      {train, {{"--seed", "-5"}, seed + "'-5'"}},
      {train, {{"--seed", "18446744073709551616"}, seed + "'18446744073709551616'"}},
      {train, {{"--threads", "100000"}, threads + "'100000'"}},
      {train, {{"--threads", "-1"}, threads + "'-1'"}},
      {train, {{"--learning-rate", "inf"}, rate + "'inf'"}},
      {train, {{"--learning-rate", "nan"}, rate + "'nan'"}},
      {train, {{"--learning-rate", "-0.1"}, rate + "'-0.1'"}},
      {train, {{"--learning-rate", "0"}, rate + "'0'"}},
      {eval, {{"--batch-size", "-1"}, "--batch-size" + batch + "'-1'"}},
      {eval, {{"--threads", "100000"}, threads + "'100000'"}},
      {predict, {{"--top", "-1"}, "--top" + count + "'-1'"}},
      {predict, {{"--top", "0"}, "--top" + count + "'0'"}},
      {bench, {{"--batch", "-1"}, "--batch" + batch + "'-1'"}},
      {bench, {{"--threads", "100000"}, threads + "'100000'"}},
      {bench, {{"--iterations", "-1"}, "--iterations" + count + "'-1'"}},
      {bench, {{"--repeats", "0"}, "--repeats" + count + "'0'"}},
      {bench,
       {{"--warmup", "-1"}, "--warmup: expected a whole number from 0 to 1000000, got '-1'"}},
  };
  for (const auto& [command, bad] : cases) {
    std::vector<std::string> args = command;
    args.insert(args.end(), bad.args.begin(), bad.args.end());
    SCOPED_TRACE(args[0] + " " + bad.args[0] + " " + bad.args[1]);
    const Result result = run(args);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    testing::expect_one_error_line(result, args[0]);
    EXPECT_NE(result.err.find(bad.message), std::string::npos)
        << "expected: " << bad.message << "\ngot: " << result.err;
  }
}

// The bounds themselves are accepted: the largest seed, the largest batch, no warm-up.
TEST_F(CliOptionsTest, TheBoundsOfTheRangesAreAccepted) {
  const Result trained =
      run({"train", "--model", "iris-mlp", "--data", "iris", "--epochs", "1", "--seed",
           "18446744073709551615", "--threads", "1", "--out", (root_ / "iris").string()});
  EXPECT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.out.find("seed 18446744073709551615"), std::string::npos) << trained.out;
  const Result bench = run({"bench", "--model", "iris-mlp", "--batch", "65536", "--iterations", "1",
                            "--repeats", "1", "--warmup", "0", "--threads", "1"});
  EXPECT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_NE(bench.out.find("batch 65536"), std::string::npos) << bench.out;
}

// --infer-batch and --latency: the JSON line says which batch inference ran on, and a steady-state
// inference call allocates no activations, so it touches (almost) no new page: the odd fault of
// the allocator's own bookkeeping is allowed, one fresh buffer per call (hundreds) is not.
TEST_F(CliOptionsTest, BenchReportsTheInferenceBatchLatencyAndPageFaults) {
  const Result bench = run({"bench", "--model", "digits-cnn", "--batch", "8", "--infer-batch",
                            "300", "--latency", "--latency-runs", "5", "--iterations", "20",
                            "--repeats", "1", "--threads", "1", "--json"});
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_NE(bench.out.find("\"batch\": 8, \"infer_batch\": 300,"), std::string::npos) << bench.out;
  const std::string faults_key = "\"infer_minor_faults_per_batch\": ";
  const std::size_t faults_at = bench.out.find(faults_key);
  ASSERT_NE(faults_at, std::string::npos) << bench.out;
  EXPECT_LT(std::stod(bench.out.substr(faults_at + faults_key.size())), 1.0) << bench.out;
  EXPECT_NE(bench.out.find("\"latency_us_batch1\": "), std::string::npos) << bench.out;
  const Result without = run({"bench", "--model", "digits-cnn", "--iterations", "1", "--repeats",
                              "1", "--threads", "1", "--json"});
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_NE(without.out.find("\"batch\": 64, \"infer_batch\": 64,"), std::string::npos)
      << without.out;
  EXPECT_EQ(without.out.find("latency"), std::string::npos) << without.out;
}

// --stream N times inference over N distinct samples (a short last batch included) and says so.
TEST_F(CliOptionsTest, BenchStreamsDistinctSamplesWhenAsked) {
  const Result bench =
      run({"bench", "--model", "digits-cnn", "--infer-batch", "10", "--stream", "25",
           "--iterations", "1", "--repeats", "1", "--threads", "1", "--json"});
  ASSERT_EQ(bench.exit_code, 0) << bench.err;
  EXPECT_NE(bench.out.find("\"infer_stream\": 25}"), std::string::npos) << bench.out;
  const Result fixed = run({"bench", "--model", "digits-cnn", "--iterations", "1", "--repeats", "1",
                            "--threads", "1", "--json"});
  EXPECT_NE(fixed.out.find("\"infer_stream\": 0}"), std::string::npos) << fixed.out;
  EXPECT_NE(run({"bench", "--model", "digits-cnn", "--stream", "0"}).exit_code, 0);
}

}  // namespace
}  // namespace cnnkit
