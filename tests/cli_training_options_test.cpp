// `cnnkit train` with the options of issue 25's training features: a 1-D convolution model fed
// from a CSV file (its rows reshaped to [channels, length]), the fused SoftmaxCrossEntropy loss
// with the mean reduction, a validation split with early stopping, resuming such a run, and the
// bad values of each option.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "cli_test_helpers.hpp"
#include "cnnkit/model/model_file.hpp"

namespace cnnkit {
namespace {

namespace fs = std::filesystem;
using testing::expect_one_error_line;
using testing::read_file;
using testing::Result;
using testing::write_file;

// Two channels of 16 steps: class "up" rises in channel 0, class "down" falls; channel 1 is noise.
// `values` per row: 32 for the model below, another count for the mismatch case.
std::string signals_csv(std::size_t rows, std::size_t values) {
  std::mt19937 engine(3);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::string csv;
  for (std::size_t r = 0; r < rows; ++r) {
    const bool up = r % 2 == 0;
    csv += up ? "up" : "down";
    for (std::size_t i = 0; i < values; ++i) {
      const float t = float(i % 16) / 15.0f;
      const float value = i < 16 ? (up ? t : 1.0f - t) + noise(engine) : noise(engine);
      csv += ',';
      csv += std::to_string(value);
    }
    csv += "\n";
  }
  return csv;
}

constexpr const char* kConv1d = R"({
  "name": "signals-conv1d", "input_shape": [2, 16],
  "layers": [{"type": "Conv", "kernels": 4, "kernel": [3]}, {"type": "ReLU"},
             {"type": "Pooling", "window": 2}, {"type": "Flatten"},
             {"type": "FullyConnected", "outputs": 2}],
  "optimizer": {"type": "Adam", "learning_rate": 0.03},
  "loss": {"type": "SoftmaxCrossEntropy", "reduction": "mean"}
})";

class CliTrainingOptions : public testing::CliSuite {
 protected:
  void SetUp() override {
    write_file(root_ / "signals.csv", signals_csv(150, 32));
    write_file(root_ / "conv1d.json", kConv1d);
  }
  static std::vector<std::string> train_args(const fs::path& out,
                                             const std::string& csv = "signals.csv") {
    return {"train",
            "--model",
            (root_ / "conv1d.json").string(),
            "--data",
            "csv:" + (root_ / csv).string(),
            "--out",
            out.string(),
            "--threads",
            "1"};
  }
};

TEST_F(CliTrainingOptions, TrainsAOneDConvolutionFromACsvWithEarlyStopping) {
  const fs::path dir = root_ / "conv1d";
  std::vector<std::string> args = train_args(dir);
  // The validation accuracy reaches 1 within a few epochs; the ties after it are no improvement.
  for (const char* extra : {"--epochs", "40", "--validation-split", "0.2",
                            "--early-stopping-patience", "3", "--monitor", "accuracy"}) {
    args.push_back(extra);
  }
  const Result result = run(args);
  ASSERT_EQ(result.exit_code, 0) << result.err << result.out;
  EXPECT_NE(result.out.find("samples [32] reshaped to [2, 16]"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("20.0 % of the training samples held out for validation"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find(", validation loss "), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("best epoch "), std::string::npos) << result.out;

  // The run's files: validation columns in metrics.csv, the best epoch's model saved.
  const std::string csv = read_file(dir / "metrics.csv");
  EXPECT_EQ(csv.rfind("epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds,"
                      "validation_loss,validation_accuracy\n",
                      0),
            0u)
      << csv;
  const Checkpoint<float> checkpoint =
      load_checkpoint<float>((dir / "checkpoint.safetensors").string());
  const TrainingState& state = checkpoint.state;
  ASSERT_GE(state.best_epoch, 1u);
  EXPECT_EQ(state.validation_fraction, 0.2);
  // Early stopping ended the run 3 epochs after its best.
  EXPECT_EQ(state.best_metric, 1.0);
  EXPECT_EQ(state.epoch, state.best_epoch + 3);
  EXPECT_NE(result.out.find("early stopping after epoch " + std::to_string(state.epoch) +
                            ": the validation accuracy has not improved for 3 epoch(s)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("after epoch " + std::to_string(state.best_epoch) + "; model saved"),
            std::string::npos)
      << result.out;
  // model.safetensors holds the best epoch's weights: the same as best.safetensors.
  const Model<float> model = load_model<float>((dir / "model.safetensors").string());
  const Model<float> best = load_model<float>((dir / "best.safetensors").string());
  for (std::size_t i = 0; i < model.graph.layers().size(); ++i) {
    const auto a = model.graph.layers()[i]->parameters();
    const auto b = best.graph.layers()[i]->parameters();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t p = 0; p < a.size(); ++p) EXPECT_EQ(a[p]->value, b[p]->value);
  }
  // The description keeps the fused loss and the reduction; the ramps are easy to tell apart.
  EXPECT_EQ(model.description.loss, "SoftmaxCrossEntropy");
  EXPECT_EQ(model.description.loss_reduction, "mean");
  const std::size_t at = result.out.find("\ntest accuracy ");
  ASSERT_NE(at, std::string::npos) << result.out;
  EXPECT_GE(std::stod(result.out.substr(at + 15)), 0.9) << result.out;

  // eval reshapes the same way and reports probabilities' accuracy on the test part.
  const Result eval = run({"eval", "--model", (dir / "model.safetensors").string(), "--data",
                           "csv:" + (root_ / "signals.csv").string()});
  EXPECT_EQ(eval.exit_code, 0) << eval.err;

  // Resuming a run that stopped early trains nothing and ends with the same best model (its
  // weights come back from best.safetensors: the checkpoint holds the last epoch's).
  const std::string saved = read_file(dir / "model.safetensors");
  args.emplace_back("--resume");
  const Result resumed = run(args);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("early stopping after epoch " + std::to_string(state.epoch)),
            std::string::npos)
      << resumed.out;
  EXPECT_EQ(read_file(dir / "model.safetensors"), saved);
}

TEST_F(CliTrainingOptions, ResumeKeepsTheValidationSplitAndTheBestEpoch) {
  const fs::path dir = root_ / "resumed";
  std::vector<std::string> args = train_args(dir);
  for (const char* extra :
       {"--epochs", "2", "--validation-split", "0.25", "--loss-reduction", "sum"}) {
    args.push_back(extra);
  }
  ASSERT_EQ(run(args).exit_code, 0);
  // --loss-reduction replaces the description's "mean", and a resumed run must keep it.
  const Result reduction =
      run({"train", "--resume", "--out", dir.string(), "--data",
           "csv:" + (root_ / "signals.csv").string(), "--epochs", "4", "--loss-reduction", "mean"});
  EXPECT_EQ(reduction.exit_code, 2) << reduction.err;
  EXPECT_NE(reduction.err.find("loss reduction sum)"), std::string::npos) << reduction.err;
  // Continuing: the split comes from the checkpoint; another one is refused.
  const Result other = run({"train", "--resume", "--out", dir.string(), "--data",
                            "csv:" + (root_ / "signals.csv").string(), "--epochs", "4",
                            "--validation-split", "0.5"});
  EXPECT_EQ(other.exit_code, 1) << other.err;
  EXPECT_NE(other.err.find("validation fraction of the run being continued (0.25"),
            std::string::npos)
      << other.err;
  const Result resumed = run({"train", "--resume", "--out", dir.string(), "--data",
                              "csv:" + (root_ / "signals.csv").string(), "--epochs", "4"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const Checkpoint<float> checkpoint =
      load_checkpoint<float>((dir / "checkpoint.safetensors").string());
  EXPECT_EQ(checkpoint.state.epoch, 4u);
  EXPECT_EQ(checkpoint.state.validation_fraction, 0.25);
  EXPECT_EQ(checkpoint.model.description.loss_reduction, "sum");
  ASSERT_EQ(checkpoint.state.history.size(), 4u);
  for (const EpochMetrics& m : checkpoint.state.history)
    EXPECT_TRUE(std::isfinite(m.validation_loss));
}

struct BadOption {
  const char* what;
  std::vector<std::string> extra;
  int exit_code;
  std::string message;
  std::string csv = "signals.csv";
};

TEST_F(CliTrainingOptions, BadValuesFailWithTheirMessage) {
  write_file(root_ / "short_rows.csv", signals_csv(30, 30));
  const std::vector<BadOption> cases{
      {"split of 1.5", {"--validation-split", "1.5"}, 2, "between 0 and 1"},
      {"split of 0", {"--validation-split", "0"}, 2, "between 0 and 1"},
      {"negative split", {"--validation-split", "-0.2"}, 2, "between 0 and 1"},
      {"patience 0",
       {"--validation-split", "0.2", "--early-stopping-patience", "0"},
       2,
       "from 1 to"},
      {"negative patience",
       {"--validation-split", "0.2", "--early-stopping-patience", "-1"},
       2,
       "from 1 to"},
      {"patience without a split",
       {"--early-stopping-patience", "2"},
       2,
       "--early-stopping-patience: expected --validation-split"},
      {"unknown metric", {"--validation-split", "0.2", "--monitor", "f1"}, 2, "--monitor"},
      {"unknown reduction", {"--loss-reduction", "average"}, 2, "--loss-reduction"},
      {"split leaving no validation samples",
       {"--validation-split", "0.001"},
       1,
       "0 for validation"},
      {"rows of another length",
       {},
       1,
       "expects input [2, 16], data 'csv:" + (root_ / "short_rows.csv").string() +
           "' has samples of shape [30] (30 values; [2, 16] takes 32)",
       "short_rows.csv"},
  };
  for (const BadOption& bad : cases) {
    SCOPED_TRACE(bad.what);
    std::vector<std::string> args = train_args(root_ / "bad", bad.csv);
    args.insert(args.end(), bad.extra.begin(), bad.extra.end());
    const Result result = run(args);
    EXPECT_EQ(result.exit_code, bad.exit_code) << result.err;
    EXPECT_NE(result.err.find(bad.message), std::string::npos) << result.err;
    expect_one_error_line(result, "train");
    fs::remove_all(root_ / "bad");
  }
}

}  // namespace
}  // namespace cnnkit
