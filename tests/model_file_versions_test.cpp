// Model files across format versions: version 2 names tensors after the graph's nodes
// ("block2.conv1.weights"), and files of version 1 (tensors "layer{i}.*", kept in
// tests/data/model_format_v1) still load, weights and optimizer states in the right nodes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/io/safetensors.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/random.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

const std::string kV1 = std::string(CNNKIT_TEST_DATA_DIR) + "/model_format_v1/digits_resnet";

// The v1 model's probabilities for the first three test samples of the digits, as the program
// that saved it printed them (%.9g reads back to the same float).
const std::vector<float> kV1Probabilities{
    0.107259959f,  0.0934398025f, 0.0963692069f, 0.0911344066f, 0.103879623f,  0.120409153f,
    0.0827392712f, 0.101137891f,  0.0898590162f, 0.113771677f,  0.11725419f,   0.0935546905f,
    0.0746003613f, 0.0912177935f, 0.0980406851f, 0.11619807f,   0.0815651268f, 0.0996942893f,
    0.101274282f,  0.126600519f,  0.0961950421f, 0.0865101293f, 0.0871382058f, 0.109220259f,
    0.104693606f,  0.104006633f,  0.103790134f,  0.0978055447f, 0.0888794586f, 0.121760987f};

Tensor<float> first_test_samples() {
  const auto [train_set, test_set] =
      shuffled_split(load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz"),
                     kDigitsSplit.train_fraction, kDigitsSplit.split_seed);
  Tensor<float> x({3, 1, 8, 8});
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = test_set.inputs[i];
  return x;
}

void expect_v1_probabilities(Model<float>& model) {
  const Tensor<float> p = model.forward(first_test_samples());
  ASSERT_EQ(p.size(), kV1Probabilities.size());
  for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p.data()[i], kV1Probabilities[i]) << i;
}

TEST(ModelFileVersions, Version1ModelLoadsIntoTheNamedNodes) {
  EXPECT_EQ(load_safetensors<float>(kV1 + ".model.safetensors").metadata.at("format_version"), "1");
  Model<float> model = load_model<float>(kV1 + ".model.safetensors");
  EXPECT_EQ(model.graph.name(7), "block2.conv1");
  expect_v1_probabilities(model);
}

TEST(ModelFileVersions, Version1CheckpointRestoresTheOptimizerStates) {
  Checkpoint<float> checkpoint = load_checkpoint<float>(kV1 + ".checkpoint.safetensors");
  expect_v1_probabilities(checkpoint.model);
  EXPECT_EQ(checkpoint.state.epoch, 1u);
  // 1198 training samples in batches of 64: 19 Adam steps on every parameter.
  const auto* adam = dynamic_cast<const Adam<float>*>(
      checkpoint.model.graph.layer(7).parameters()[0]->optimizer.get());
  ASSERT_NE(adam, nullptr);
  EXPECT_EQ(adam->step(), 19u);
  const SafetensorsFile<float> file = load_safetensors<float>(kV1 + ".checkpoint.safetensors");
  EXPECT_EQ(adam->state().at("v"), file.at("layer7.weights.adam.v"));
}

TEST(ModelFileVersions, SavingWritesVersion2WithTensorsNamedAfterTheNodes) {
  Checkpoint<float> checkpoint = load_checkpoint<float>(kV1 + ".checkpoint.safetensors");
  const testing::TempDir dir;
  const std::string model_path = (dir.path() / "model.safetensors").string();
  const std::string checkpoint_path = (dir.path() / "checkpoint.safetensors").string();
  save_model(model_path, checkpoint.model.description, checkpoint.model.graph.layers());
  save_checkpoint(checkpoint_path, checkpoint.model, checkpoint.state);

  const SafetensorsFile<float> file = load_safetensors<float>(checkpoint_path);
  EXPECT_EQ(file.metadata.at("format_version"), "2");
  EXPECT_EQ(std::string(kModelFormatVersion), "2");
  const SafetensorsFile<float> v1 = load_safetensors<float>(kV1 + ".checkpoint.safetensors");
  EXPECT_EQ(file.at("block2.conv1.weights"), v1.at("layer7.weights"));
  EXPECT_EQ(file.at("block2.skip.bias"), v1.at("layer10.bias"));
  EXPECT_EQ(file.at("fc.weights.adam.r"), v1.at("layer19.weights.adam.r"));
  EXPECT_FALSE(file.contains("layer7.weights"));
  EXPECT_EQ(file.tensors.size(), v1.tensors.size());

  Model<float> model = load_model<float>(model_path);
  expect_v1_probabilities(model);
  Checkpoint<float> again = load_checkpoint<float>(checkpoint_path);
  expect_v1_probabilities(again.model);
  EXPECT_EQ(again.model.graph.layer(19).parameters()[0]->optimizer->state().at("r"),
            v1.at("layer19.weights.adam.r"));
}

TEST(ModelFileVersions, AChainKeepsItsTensorNames) {
  // A chain's nodes are named layer{i}: its files read the same in both versions.
  set_seed(2);
  const Model<float> model = build_model<float>(preset("digits-cnn"));
  const testing::TempDir dir;
  const std::string path = (dir.path() / "chain.safetensors").string();
  save_model(path, model.description, model.graph.layers());
  const SafetensorsFile<float> file = load_safetensors<float>(path);
  EXPECT_TRUE(file.contains("layer0.weights"));
  EXPECT_TRUE(file.contains("layer6.bias"));
}

}  // namespace
}  // namespace cnnkit
