// cnnkit train with dropout, --augment and --normalize: the same seed gives the same model file
// on 1 and 2 threads and after a resume, the options change what is trained, and every bad value
// is a usage error naming its option.
#include <gtest/gtest.h>

#include <cstdio>
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

class CliAugmentTest : public testing::CliSuite {
 protected:
  // A perceptron with dropout on the 8x8 digits, as a (1, 8, 8) image.
  static std::string model_file() {
    const fs::path path = root_ / "dropout-mlp.json";
    testing::write_file(path, R"({"name": "dropout-mlp", "input_shape": [1, 8, 8],
      "layers": [{"type": "Flatten"}, {"type": "FullyConnected", "outputs": 32},
                 {"type": "ReLU"}, {"type": "Dropout", "p": 0.3},
                 {"type": "FullyConnected", "outputs": 10}, {"type": "SoftMax"}],
      "optimizer": {"type": "Adam", "learning_rate": 0.005}})");
    return path.string();
  }

  // Trains into root_/name and returns the result; `more` goes after the common options.
  static Result train(const std::string& name, const std::vector<std::string>& more) {
    std::vector<std::string> args{"train",
                                  "--model",
                                  model_file(),
                                  "--data",
                                  "digits",
                                  "--batch-size",
                                  "50",
                                  "--seed",
                                  "5",
                                  "--out",
                                  (root_ / name).string()};
    args.insert(args.end(), more.begin(), more.end());
    return run(args);
  }

  static std::string model_bytes(const std::string& name) {
    return read_file(root_ / name / "model.safetensors");
  }
};

TEST_F(CliAugmentTest, SameSeedSameModelOnOneAndTwoThreadsAndAfterAResume) {
  const std::vector<std::string> options{"--augment", "crop=1,flip", "--normalize", "8,6"};
  const auto with = [&](std::vector<std::string> more) {
    more.insert(more.end(), options.begin(), options.end());
    return more;
  };
  const Result one = train("one", with({"--epochs", "2", "--threads", "1"}));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const Result two = train("two", with({"--epochs", "2", "--threads", "2"}));
  ASSERT_EQ(two.exit_code, 0) << two.err;
  // Compared as a whole (a mismatch would print kilobytes of floats).
  EXPECT_TRUE(model_bytes("one") == model_bytes("two")) << "1 and 2 threads differ";

  // Epoch 1, then a resume to epoch 2: the checkpoint keeps the seed, and the steps count on.
  ASSERT_EQ(train("resumed", with({"--epochs", "1", "--threads", "1"})).exit_code, 0);
  const Result resumed = run(with({"train", "--resume", "--out", (root_ / "resumed").string(),
                                   "--epochs", "2", "--data", "digits", "--threads", "1"}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(model_bytes("resumed") == model_bytes("one")) << "the resumed run differs";

  // Without the augmentation, or with another seed, training sees other numbers.
  ASSERT_EQ(train("plain", {"--epochs", "2", "--threads", "1", "--normalize", "8,6"}).exit_code, 0);
  EXPECT_FALSE(model_bytes("plain") == model_bytes("one")) << "--augment changed nothing";
  EXPECT_FALSE(model_bytes("one").empty());
}

// --normalize puts a Normalize layer in front of the model, so the saved model takes raw data:
// `cnnkit eval` on the raw test set reports the accuracy the run measured on it.
TEST_F(CliAugmentTest, NormalizationTravelsInTheModelFile) {
  ASSERT_EQ(
      train("normalized", {"--epochs", "2", "--threads", "1", "--normalize", "8,6"}).exit_code, 0);
  const fs::path model_path = root_ / "normalized" / "model.safetensors";
  const Model<float> model = load_model<float>(model_path.string());
  ASSERT_EQ(model.description.layers.front().type, "Normalize");
  EXPECT_EQ(model.description.layers.front().mean, std::vector<double>{8.0});
  EXPECT_EQ(model.description.layers.front().standard_deviation, std::vector<double>{6.0});

  const std::string metrics = read_file(root_ / "normalized" / "metrics.csv");
  const std::string last = metrics.substr(metrics.rfind('\n', metrics.size() - 2) + 1);
  // epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds
  std::vector<std::string> fields;
  for (std::size_t start = 0, comma; start <= last.size(); start = comma + 1) {
    comma = last.find(',', start);
    if (comma == std::string::npos) comma = last.size();
    fields.push_back(last.substr(start, comma - start));
  }
  ASSERT_EQ(fields.size(), 6u) << last;
  const Result eval = run({"eval", "--model", model_path.string(), "--data", "digits"});
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  char accuracy[16];
  std::snprintf(accuracy, sizeof accuracy, "%.4f", std::stod(fields[4]));
  EXPECT_NE(eval.out.find(std::string("accuracy ") + accuracy), std::string::npos)
      << "the run measured " << fields[4] << "; eval printed:\n"
      << eval.out;
}

TEST_F(CliAugmentTest, BadOptionsAreUsageErrorsNamingTheOption) {
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Bad> cases{
      {{"--augment", "flip=1.5"},
       "--augment: augmentation flip: expected a probability in [0, 1], got 1.5"},
      {{"--augment", "crop=2:13x8"},
       "--augment: augmentation crop: expected a crop no larger than the padded image 12x12 "
       "(padding 2), got 13x8"},
      {{"--augment", "crop=0"}, "--augment crop: expected a padding P >= 1"},
      {{"--augment", "rotate=3"},
       "--augment: expected none, or crop=P, crop=P:HxW, flip or flip=Q"},
      {{"--augment", "flip,flip"}, "each at most once, got 'flip'"},
      {{"--normalize", "8,0"},
       "--normalize: normalize std: expected finite values above 0, got 0 for channel 0"},
      {{"--normalize", "8"}, "--normalize: expected MEAN,STD"},
      {{"--normalize", "8:1,6"},
       "--normalize: normalize mean: expected 1 value or one per channel (1), got 2 values"},
  };
  for (const Bad& bad : cases) {
    const Result result = train("bad", bad.args);
    EXPECT_EQ(result.exit_code, 2) << bad.args[1];
    expect_one_error_line(result, "train");
    EXPECT_NE(result.err.find(bad.message), std::string::npos)
        << bad.args[1] << "\n  expected: " << bad.message << "\n  got: " << result.err;
  }
  // A 1-D data set has no images to crop.
  const Result iris = run({"train", "--model", "iris-mlp", "--data", "iris", "--augment", "crop=1",
                           "--out", (root_ / "iris").string()});
  EXPECT_EQ(iris.exit_code, 2);
  EXPECT_NE(iris.err.find("--augment: augmentation crop: expected image samples (channels, "
                          "height, width), got [4]"),
            std::string::npos)
      << iris.err;
}

// The fashion-resnet preset (W4) trains with its recipe unless told otherwise: batch 128 and
// crop=2,flip, on any data of 28x28 images (here a CSV whose 784 values per row are reshaped).
TEST_F(CliAugmentTest, FashionResnetTrainsWithItsRecipe) {
  std::string csv;
  for (int row = 0; row < 12; ++row) {
    csv += std::to_string(row % 10);
    for (int pixel = 0; pixel < 784; ++pixel) {
      csv.push_back(',');
      csv.append(std::to_string((row * 7 + pixel) % 13));
    }
    csv += "\n";
  }
  const fs::path data = root_ / "images.csv";
  testing::write_file(data, csv);
  const std::vector<std::string> common{
      "train",    "--model", "fashion-resnet", "--data", "csv:" + data.string(),
      "--epochs", "1",       "--threads",      "1"};
  std::vector<std::string> recipe = common;
  recipe.insert(recipe.end(), {"--out", (root_ / "resnet").string()});
  const Result with_recipe = run(recipe);
  ASSERT_EQ(with_recipe.exit_code, 0) << with_recipe.err;
  EXPECT_NE(with_recipe.out.find(", batch 128, augment crop=2,flip, AdamW"), std::string::npos)
      << with_recipe.out;

  std::vector<std::string> plain = common;
  plain.insert(plain.end(),
               {"--augment", "none", "--batch-size", "4", "--out", (root_ / "plain").string()});
  const Result without = run(plain);
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_NE(without.out.find(", batch 4, AdamW"), std::string::npos) << without.out;
}

}  // namespace
}  // namespace cnnkit
