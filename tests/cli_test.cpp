// End-to-end tests of the real `cnnkit` executable (CNNKIT_EXE): train the digits CNN into a
// temporary folder, then eval, predict, summary, resume and every kind of bad input, checking exit
// codes, the messages on stderr and the files left behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <stb/stb_image_write.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli_test_helpers.hpp"
#include "cnnkit/data/builtin.hpp"
#include "cnnkit/data/image_folder.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/model_file.hpp"

namespace cnnkit {
namespace {

namespace fs = std::filesystem;
using testing::expect_one_error_line;
using testing::read_file;
using testing::Result;
using testing::start;
using testing::wait_for;
using testing::write_file;

class CliTest : public testing::CliSuite {
 protected:
  static void TearDownTestSuite() {
    trained_.reset();
    CliSuite::TearDownTestSuite();
  }

  // The digits model the tests share, trained on first use (training is the slow part, and
  // ctest runs every test in a process of its own).
  static const Result& trained() {
    if (!trained_) {
      trained_ = run({"train", "--model", "digits-cnn", "--data", "digits", "--epochs", "10",
                      "--out", (root_ / "digits").string(), "--threads", "1"});
    }
    return *trained_;
  }

  static fs::path digits_dir() { return root_ / "digits"; }

  inline static std::optional<Result> trained_;
};

// A PNG has the 8-byte signature, then the IHDR chunk (length 13) with width and height.
void expect_png(const fs::path& path) {
  const std::string bytes = read_file(path);
  ASSERT_GE(bytes.size(), 33u) << path;
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << path;
  EXPECT_EQ(bytes.substr(8, 8), std::string("\0\0\0\x0dIHDR", 8)) << path;
  const auto be32 = [&](std::size_t at) {
    return (static_cast<unsigned>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<unsigned>(static_cast<unsigned char>(bytes[at + 3]));
  };
  EXPECT_GE(be32(16), 100u) << path << " width";
  EXPECT_GE(be32(20), 100u) << path << " height";
}

// The number after `label` in `text` (e.g. "test accuracy 0.93"), or -1.
double number_after(const std::string& text, const std::string& label) {
  const std::regex pattern(label + " ([0-9.]+)");
  std::smatch match;
  if (!std::regex_search(text, match, pattern)) return -1;
  return std::stod(match[1]);
}

TEST_F(CliTest, TrainDigitsReachesAccuracyAndWritesTheRunFolder) {
  ASSERT_EQ(trained().exit_code, 0) << trained().err;
  EXPECT_EQ(trained().err, "");
  // One line per epoch, then the final accuracy.
  EXPECT_NE(trained().out.find("epoch 10/10: train loss "), std::string::npos) << trained().out;
  const double final_accuracy = number_after(trained().out, "\ntest accuracy");
  EXPECT_GE(final_accuracy, 0.85) << trained().out;

  for (const char* file : {"model.safetensors", "checkpoint.safetensors", "metrics.csv"}) {
    EXPECT_TRUE(fs::is_regular_file(digits_dir() / file)) << file;
  }
  for (const char* picture : {"curves.png", "confusion.png", "samples.png"}) {
    expect_png(digits_dir() / picture);
  }
  const std::string csv = read_file(digits_dir() / "metrics.csv");
  EXPECT_EQ(csv.rfind("epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 11);
  // No temporary files left behind by the atomic writes.
  for (const auto& entry : fs::directory_iterator(digits_dir())) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
  }
  // The model file holds the class names the data brought.
  const Model<float> model = load_model<float>((digits_dir() / "model.safetensors").string());
  EXPECT_EQ(model.description.classes.size(), 10u);
}

TEST_F(CliTest, EvalReportsTheTrainedAccuracy) {
  ASSERT_EQ(trained().exit_code, 0);
  const Result result =
      run({"eval", "--model", (digits_dir() / "model.safetensors").string(), "--data", "digits"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const double trained_accuracy = number_after(trained().out, "\ntest accuracy");
  EXPECT_NEAR(number_after(result.out, "accuracy"), trained_accuracy, 1e-4) << result.out;
  EXPECT_NE(result.out.find("599 test samples"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("confusion matrix"), std::string::npos) << result.out;
  // The per-class row of class 9: its accuracy and its sample count.
  EXPECT_TRUE(std::regex_search(result.out, std::regex("\n9 +[01]\\.[0-9]{4} +[0-9]+\n")))
      << result.out;
}

TEST_F(CliTest, PredictAgreesWithTheLibraryOnDigitPngs) {
  ASSERT_EQ(trained().exit_code, 0);
  const auto [train_set, test_set] = shuffled_split(
      load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz"), 2.0 / 3.0, 0);
  const std::string model_path = (digits_dir() / "model.safetensors").string();
  Model<float> model = load_model<float>(model_path);
  std::vector<std::string> args{"predict", "--model", model_path};
  std::vector<std::size_t> expected;
  for (std::size_t i = 0; i < 3; ++i) {
    // The 8x8 test image as an 8-bit grey PNG.
    const std::vector<unsigned char> pixels = testing::digit_pixels(test_set.inputs.data(), i);
    const fs::path png = root_ / ("digit" + std::to_string(i) + ".png");
    ASSERT_NE(stbi_write_png(png.c_str(), 8, 8, 1, pixels.data(), 8), 0);
    args.push_back(png.string());
    const Tensor<float> input = load_image<float>(png.string(), {1, 8, 8});
    expected.push_back(argmax_rows(model.forward(input.reshaped({1, 1, 8, 8})))[0]);
  }
  const Result result = run(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::istringstream lines(result.out);
  for (std::size_t i = 0; i < 3; ++i) {
    std::string file, first, second, third;
    std::getline(lines, file);
    std::getline(lines, first);
    std::getline(lines, second);
    std::getline(lines, third);
    EXPECT_EQ(file, args[3 + i]);
    EXPECT_NE(first.find("(class " + std::to_string(expected[i]) + ")"), std::string::npos)
        << first;
    EXPECT_EQ(first.rfind("  1. ", 0), 0u) << first;
    EXPECT_EQ(third.rfind("  3. ", 0), 0u) << third;
  }
}

TEST_F(CliTest, PredictJsonGivesTheLibrarysProbabilitiesBitForBit) {
  ASSERT_EQ(trained().exit_code, 0);
  const auto [train_set, test_set] = shuffled_split(
      load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz"), 2.0 / 3.0, 0);
  const std::string model_path = (digits_dir() / "model.safetensors").string();
  Model<float> model = load_model<float>(model_path);
  std::vector<std::string> args{"predict", "--json", "--model", model_path};
  std::vector<Tensor<float>> expected;
  for (std::size_t i = 0; i < 2; ++i) {
    const std::vector<unsigned char> pixels = testing::digit_pixels(test_set.inputs.data(), i + 5);
    const fs::path png = root_ / ("json-digit" + std::to_string(i) + ".png");
    ASSERT_NE(stbi_write_png(png.c_str(), 8, 8, 1, pixels.data(), 8), 0);
    args.push_back(png.string());
    expected.push_back(
        model.forward(load_image<float>(png.string(), {1, 8, 8}).reshaped({1, 1, 8, 8})));
  }
  const Result result = run(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json document = nlohmann::json::parse(result.out);
  EXPECT_EQ(document.at("classes").size(), 10u);
  ASSERT_EQ(document.at("images").size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const nlohmann::json& image = document.at("images")[i];
    EXPECT_EQ(image.at("file"), args[4 + i]);
    EXPECT_EQ(image.at("predicted").get<std::size_t>(), argmax_rows(expected[i])[0]);
    const std::vector<double> printed = image.at("probabilities").get<std::vector<double>>();
    ASSERT_EQ(printed.size(), expected[i].size());
    for (std::size_t c = 0; c < printed.size(); ++c) {
      // Full precision: the printed decimal reads back to the very float the library computed.
      EXPECT_EQ(static_cast<float>(printed[c]), expected[i][c]) << "image " << i << ", class " << c;
    }
  }
}

TEST_F(CliTest, SummaryOfPresetAndOfSavedModel) {
  const Result preset = run({"summary", "--model", "digits-cnn"});
  ASSERT_EQ(preset.exit_code, 0) << preset.err;
  EXPECT_NE(preset.out.find("Total parameters: 2,450"), std::string::npos) << preset.out;
  ASSERT_EQ(trained().exit_code, 0);
  const Result saved = run({"summary", "--model", (digits_dir() / "model.safetensors").string()});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  EXPECT_NE(saved.out.find("Total parameters: 2,450"), std::string::npos) << saved.out;
}

TEST_F(CliTest, ResumeEqualsUninterruptedTrainingBitForBit) {
  const std::vector<std::string> common{"--model",   "digits-cnn", "--data", "digits",
                                        "--threads", "1",          "--seed", "5"};
  const auto train = [&](const std::string& dir, std::vector<std::string> extra) {
    std::vector<std::string> args{"train", "--out", (root_ / dir).string()};
    args.insert(args.end(), common.begin(), common.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  ASSERT_EQ(train("straight", {"--epochs", "2", "--batch-size", "100"}).exit_code, 0);
  ASSERT_EQ(train("resumed", {"--epochs", "1", "--batch-size", "100"}).exit_code, 0);
  // The batch size comes from the checkpoint.
  const Result resumed = train("resumed", {"--epochs", "2", "--resume"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("resuming after epoch 1"), std::string::npos) << resumed.out;
  const std::string a = read_file(root_ / "straight" / "model.safetensors");
  const std::string b = read_file(root_ / "resumed" / "model.safetensors");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == b) << "model.safetensors differs between 2 epochs and 1 + resumed 1";
  const std::string csv = read_file(root_ / "resumed" / "metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;  // header + both epochs

  // Resuming with another batch size would be another run.
  const Result other = train("resumed", {"--epochs", "3", "--resume", "--batch-size", "64"});
  EXPECT_EQ(other.exit_code, 2);
  expect_one_error_line(other, "train");
  EXPECT_NE(other.err.find("expected the batch size of the run being continued (100), got 64"),
            std::string::npos)
      << other.err;
}

TEST_F(CliTest, TrainsTheIrisMlpOnACsvFile) {
  // Iris as a CSV file with the class first: the csv:PATH route and a model without images.
  const Dataset<float> iris = load_iris<float>(std::string(CNNKIT_DATA_DIR) + "/iris.csv");
  std::string csv = "species,sepal_length,sepal_width,petal_length,petal_width\n";
  for (std::size_t i = 0; i < iris.size(); ++i) {
    csv += iris.class_names[iris.labels[i]];
    for (std::size_t f = 0; f < 4; ++f) {
      csv += ',';
      csv += std::to_string(iris.inputs[i * 4 + f]);
    }
    csv += "\n";
  }
  write_file(root_ / "iris.csv", csv);
  const fs::path dir = root_ / "iris";
  const Result result =
      run({"train", "--model", "iris-mlp", "--data", "csv:" + (root_ / "iris.csv").string(),
           "--epochs", "60", "--out", dir.string(), "--threads", "1"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("100 training / 50 test samples"), std::string::npos) << result.out;
  EXPECT_GE(number_after(result.out, "\ntest accuracy"), 0.8) << result.out;
  expect_png(dir / "curves.png");
  expect_png(dir / "confusion.png");
  EXPECT_FALSE(fs::exists(dir / "samples.png")) << "iris samples are no images";
}

// ---- bad input: non-zero exit, one clear line, nothing half-written

struct BadRun {
  const char* what;
  std::vector<std::string> args;
  int exit_code;
  std::string message;  // expected part of stderr
};

TEST_F(CliTest, EachBadInputFailsWithItsMessage) {
  ASSERT_EQ(trained().exit_code, 0);  // "missing image" needs a model
  const fs::path bad = root_ / "bad";
  fs::create_directories(bad);
  write_file(bad / "corrupt.json", R"({"input_shape": [1, 8, 8], "layers": [)");
  write_file(bad / "dense.json", R"({"input_shape": [1, 8, 8], "layers": [{"type": "Flatten"},
      {"type": "Dense", "outputs": 10}, {"type": "SoftMax"}]})");
  write_file(bad / "corrupt.safetensors", "this is not a safetensors file at all");
  // An IDX images file that promises 10 images of 28x28 but holds 100 bytes.
  fs::create_directories(bad / "idx");
  std::string images("\0\0\x08\x03\0\0\0\x0a\0\0\0\x1c\0\0\0\x1c", 16);
  images += std::string(100, '\x7f');
  std::string labels("\0\0\x08\x01\0\0\0\x0a", 8);
  labels += std::string(10, '\x01');
  for (const char* part : {"train", "t10k"}) {
    write_file(bad / "idx" / (std::string(part) + "-images-idx3-ubyte"), images);
    write_file(bad / "idx" / (std::string(part) + "-labels-idx1-ubyte"), labels);
  }
  const std::string out = (bad / "run").string();
  const std::vector<BadRun> cases{
      {"missing data set",
       {"train", "--model", "fashion-lenet", "--data", "mnist:/nonexistent/mnist", "--out", out},
       1,
       "/nonexistent/mnist"},
      {"missing Fashion-MNIST",
       {"train", "--model", "fashion-lenet", "--data", "fashion-mnist:/nonexistent/fm", "--out",
        out},
       1,
       "/nonexistent/fm"},
      {"corrupt JSON",
       {"train", "--model", (bad / "corrupt.json").string(), "--data", "digits", "--out", out},
       1,
       (bad / "corrupt.json").string() + ": invalid JSON: parse error at line 1"},
      {"unknown layer type",
       {"train", "--model", (bad / "dense.json").string(), "--data", "digits", "--out", out},
       1,
       "layer 1: unknown layer type 'Dense'"},
      {"input shape does not fit the data",
       {"train", "--model", "fashion-lenet", "--data", "digits", "--out", out},
       1,
       "model 'fashion-lenet' expects input [1, 28, 28], data 'digits' has samples of shape "
       "[1, 8, 8]"},
      {"corrupt safetensors",
       {"eval", "--model", (bad / "corrupt.safetensors").string(), "--data", "digits"},
       1,
       (bad / "corrupt.safetensors").string()},
      {"truncated IDX",
       {"train", "--model", "fashion-lenet", "--data", "idx:" + (bad / "idx").string(), "--out",
        out},
       1,
       "train-images-idx3-ubyte"},
      {"missing image",
       {"predict", "--model", (digits_dir() / "model.safetensors").string(),
        (bad / "none.png").string()},
       1,
       (bad / "none.png").string()},
      {"unknown preset", {"summary", "--model", "lenet"}, 1, "lenet"},
      {"unknown data kind",
       {"train", "--model", "digits-cnn", "--data", "cifar", "--out", out},
       2,
       "--data: expected fashion-mnist[:DIR], mnist:DIR, idx:DIR, digits, iris, csv:PATH or "
       "folder:DIR, got 'cifar'"},
      {"unknown option", {"train", "--model", "digits-cnn", "--epoch", "3"}, 2, "--epoch"},
      {"bad number", {"train", "--model", "digits-cnn", "--epochs", "many"}, 2, "--epochs"},
      {"resume without checkpoint",
       {"train", "--model", "digits-cnn", "--resume", "--out", out},
       1,
       "--resume: expected a checkpoint at " + out + "/checkpoint.safetensors"},
  };
  for (const BadRun& bad_run : cases) {
    SCOPED_TRACE(bad_run.what);
    const Result result = run(bad_run.args);
    EXPECT_EQ(result.exit_code, bad_run.exit_code) << result.err;
    expect_one_error_line(result, bad_run.args[0]);
    EXPECT_NE(result.err.find(bad_run.message), std::string::npos)
        << "expected: " << bad_run.message << "\ngot: " << result.err;
  }
  // None of the failed runs left a model or a checkpoint behind.
  EXPECT_FALSE(fs::exists(bad / "run" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(bad / "run" / "checkpoint.safetensors"));
}

TEST_F(CliTest, EveryCommandHasHelp) {
  for (const char* command : {"train", "eval", "predict", "summary"}) {
    const Result result = run({command, "--help"});
    EXPECT_EQ(result.exit_code, 0) << command;
    EXPECT_NE(result.out.find("--model"), std::string::npos) << command << "\n" << result.out;
  }
  const Result none = run({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_EQ(none.err.rfind("cnnkit: ", 0), 0u) << none.err;
}

TEST_F(CliTest, SigtermStopsCleanlyAndLeavesALoadableCheckpoint) {
  const fs::path dir = root_ / "interrupted";
  // Batch size 1 makes each epoch long enough (1198 updates) to be interrupted inside one.
  const pid_t pid = start({"train", "--model", "digits-cnn", "--data", "digits", "--epochs", "1000",
                           "--batch-size", "1", "--threads", "1", "--out", dir.string()},
                          root_ / "sigterm.out", root_ / "sigterm.err");
  const fs::path checkpoint = dir / "checkpoint.safetensors";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(checkpoint) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(checkpoint)) << read_file(root_ / "sigterm.err");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // now inside a later epoch
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_for(pid), 130);
  const std::string err = read_file(root_ / "sigterm.err");
  EXPECT_NE(err.find("cnnkit train: interrupted in epoch "), std::string::npos) << err;
  const Checkpoint<float> loaded = load_checkpoint<float>(checkpoint.string());
  EXPECT_GE(loaded.state.epoch, 1u);
  EXPECT_EQ(loaded.state.history.size(), loaded.state.epoch);
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));  // the run did not finish
}

}  // namespace
}  // namespace cnnkit
