// The residual network of examples/digits_resnet.json through the real `cnnkit` executable:
// trained by `cnnkit train` on the shipped digits, its model file loads in C++ with the graph it
// was described with, and `cnnkit predict --json` prints the probabilities Model::predict computes,
// bit for bit. residual_end_to_end_test.cpp holds its gradients to finite differences.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_test_helpers.hpp"
#include "cnnkit/data/builtin.hpp"
#include "cnnkit/data/image_folder.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/model_file.hpp"

namespace cnnkit {
namespace {

namespace fs = std::filesystem;
using testing::Result;

class CliResidualTest : public testing::CliSuite {};

TEST_F(CliResidualTest, TrainsSavesLoadsAndPredictsTheSameValuesInCppAndThroughTheTool) {
  const std::string description = std::string(CNNKIT_EXAMPLES_DIR) + "/digits_resnet.json";
  const fs::path dir = root_ / "resnet";
  const Result trained =
      run({"train", "--model", description, "--data", "digits", "--epochs", "10", "--batch-size",
           "32", "--out", dir.string(), "--threads", "1", "--seed", "3"});
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  EXPECT_NE(trained.out.find("epoch 10/10: train loss "), std::string::npos) << trained.out;

  // The model file keeps the graph: names, inputs, the strided skip.
  const std::string model_path = (dir / "model.safetensors").string();
  Model<float> model = load_model<float>(model_path);
  EXPECT_EQ(model.description, load_model_description(description));
  ASSERT_EQ(model.graph.size(), 21u);
  EXPECT_EQ(model.graph.name(10), "block2.skip");
  EXPECT_EQ(model.graph.inputs(10), (std::vector<std::string>{"block1.relu"}));

  // The trained network has learnt the digits (it measured 0.92; chance is 0.1).
  const auto [train_set, test_set] =
      shuffled_split(load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz"),
                     kDigitsSplit.train_fraction, kDigitsSplit.split_seed);
  EXPECT_GT(evaluate(model, test_set).accuracy, 0.8);

  std::vector<std::string> args{"predict", "--json", "--model", model_path};
  std::vector<Tensor<float>> expected;
  for (std::size_t i = 0; i < 4; ++i) {
    const std::vector<unsigned char> pixels = testing::digit_pixels(test_set.inputs.data(), i + 11);
    const fs::path png = root_ / ("resnet-digit" + std::to_string(i) + ".png");
    ASSERT_NE(stbi_write_png(png.c_str(), 8, 8, 1, pixels.data(), 8), 0);
    args.push_back(png.string());
    expected.push_back(model.predict(load_image<float>(png.string(), {1, 8, 8})));
  }
  const Result result = run(args);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const nlohmann::json document = nlohmann::json::parse(result.out);
  ASSERT_EQ(document.at("images").size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const nlohmann::json& image = document.at("images")[i];
    EXPECT_EQ(image.at("predicted").get<std::size_t>(),
              argmax_rows(expected[i].reshaped({1, 10}))[0]);
    const std::vector<double> printed = image.at("probabilities").get<std::vector<double>>();
    ASSERT_EQ(printed.size(), 10u);
    for (std::size_t c = 0; c < printed.size(); ++c) {
      EXPECT_EQ(static_cast<float>(printed[c]), expected[i][c]) << "image " << i << ", class " << c;
    }
  }

  // The summary of the saved model shows each node with its inputs.
  const Result summary = run({"summary", "--model", model_path});
  ASSERT_EQ(summary.exit_code, 0) << summary.err;
  EXPECT_NE(summary.out.find("block2.conv2, block2.skip"), std::string::npos) << summary.out;
}

}  // namespace
}  // namespace cnnkit
