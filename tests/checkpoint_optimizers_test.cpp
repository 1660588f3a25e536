// A checkpoint records the optimizer each parameter really has: a layer given another optimizer
// than the description's resumes with that optimizer, its values and its state, bit for bit.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/io/safetensors.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;

std::pair<Dataset<double>, Dataset<double>> digits() {
  return shuffled_split(load_digits<double>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz"),
                        kDigitsSplit.train_fraction, kDigitsSplit.split_seed);
}

// digits-cnn (Adam) with its first Conv on SgdWithMomentum and its last bias on plain Sgd.
Model<double> mixed_model() {
  set_seed(4);
  Model<double> model = build_model<double>(preset("digits-cnn"));
  model.graph.layer(0).set_optimizer(SgdWithMomentum<double>(0.05, 0.8));
  model.graph.layer(6).parameters()[1]->set_optimizer(Sgd<double>(0.01));
  return model;
}

void expect_same_weights_and_optimizers(const Model<double>& a, const Model<double>& b) {
  ASSERT_EQ(a.graph.size(), b.graph.size());
  for (std::size_t i = 0; i < a.graph.size(); ++i) {
    const auto pa = std::as_const(a.graph.layer(i)).parameters();
    const auto pb = std::as_const(b.graph.layer(i)).parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t p = 0; p < pa.size(); ++p) {
      const std::string what = a.graph.name(i) + "." + pa[p]->name;
      EXPECT_EQ(pa[p]->value, pb[p]->value) << what;
      EXPECT_EQ(describe_optimizer(*pa[p]->optimizer), describe_optimizer(*pb[p]->optimizer))
          << what;
      EXPECT_EQ(pa[p]->optimizer->state(), pb[p]->optimizer->state()) << what;
    }
  }
}

TEST(CheckpointOptimizers, ALayerGivenAnotherOptimizerResumesWithItBitForBit) {
  const auto [train_set, test_set] = digits();
  Model<double> model = mixed_model();
  TrainingState state;
  set_seed(5);
  train(model, train_set, test_set, TrainOptions{1, 100, 1000}, state);

  const testing::TempDir dir;
  const std::string path = (dir.path() / "mixed.safetensors").string();
  save_checkpoint(path, model, state);
  // Only the parameters that differ from the description's Adam are recorded.
  const SafetensorsFile<double> file = load_safetensors<double>(path);
  EXPECT_EQ(file.metadata.at("optimizers"),
            R"({"layer0.weights":{"type":"SgdWithMomentum","learning_rate":0.05,"momentum":0.8},)"
            R"("layer0.bias":{"type":"SgdWithMomentum","learning_rate":0.05,"momentum":0.8},)"
            R"("layer6.bias":{"type":"Sgd","learning_rate":0.01}})");
  EXPECT_TRUE(file.contains("layer0.weights.sgdwithmomentum.v"));
  EXPECT_TRUE(file.contains("layer6.weights.adam.v"));

  Checkpoint<double> loaded = load_checkpoint<double>(path);
  expect_same_weights_and_optimizers(model, loaded.model);
  // load_model gives the parameters their recorded optimizers too (their state starts afresh).
  const Model<double> weights = load_model<double>(path);
  for (std::size_t i = 0; i < weights.graph.size(); ++i) {
    const auto pa = std::as_const(model.graph.layer(i)).parameters();
    const auto pb = std::as_const(weights.graph.layer(i)).parameters();
    for (std::size_t p = 0; p < pa.size(); ++p) {
      EXPECT_EQ(describe_optimizer(*pa[p]->optimizer), describe_optimizer(*pb[p]->optimizer)) << i;
    }
  }

  // A second epoch from the file equals a second epoch of the model that was saved.
  TrainingState straight_state = state;
  set_seed(6);
  train(model, train_set, test_set, TrainOptions{2, 100, 1000}, straight_state);
  set_seed(6);
  train(loaded.model, train_set, test_set, TrainOptions{2, 100, 1000}, loaded.state);
  expect_same_weights_and_optimizers(model, loaded.model);
  EXPECT_EQ(loaded.state.history.back().train_loss, straight_state.history.back().train_loss);
}

// The metadata "optimizers" of a file is checked like everything else in it.
class BadOptimizerRecord : public ::testing::Test {
 protected:
  void SetUp() override {
    const Model<double> model = mixed_model();
    save_checkpoint(good_path_, model, TrainingState{0, 0, save_random_state(), {}});
  }
  std::string load_error_with(const std::string& records) {
    SafetensorsFile<double> file = load_safetensors<double>(good_path_);
    file.metadata["optimizers"] = records;
    save_safetensors(bad_path_, file.tensors, file.metadata);
    return message_of<std::invalid_argument>([&] { (void)load_checkpoint<double>(bad_path_); });
  }

  const testing::TempDir dir_;
  const std::string good_path_ = (dir_.path() / "good.safetensors").string();
  const std::string bad_path_ = (dir_.path() / "bad.safetensors").string();
};

TEST_F(BadOptimizerRecord, UnknownParameter) {
  EXPECT_EQ(load_error_with(R"({"layer1.weights": {"type": "Sgd", "learning_rate": 0.1}})"),
            bad_path_ +
                ": metadata optimizers: expected the name of a parameter tensor, got "
                "'layer1.weights'");
}

TEST_F(BadOptimizerRecord, UnknownOptimizerType) {
  EXPECT_EQ(load_error_with(R"({"layer0.weights": {"type": "Adagrad", "learning_rate": 0.1}})"),
            bad_path_ +
                ": metadata optimizers 'layer0.weights': optimizer: unknown type 'Adagrad' "
                "(known: Adam, AdamW, Sgd, SgdWithMomentum; registered: none (a user optimizer is "
                "registered with register_optimizer, cnnkit/registry.hpp))");
}

TEST_F(BadOptimizerRecord, BadValue) {
  EXPECT_EQ(load_error_with(R"({"layer0.weights": {"type": "Sgd", "learning_rat": 0.1}})"),
            bad_path_ +
                ": metadata optimizers 'layer0.weights': optimizer (Sgd): unknown parameter "
                "'learning_rat' (known: type, learning_rate, weight_decay, "
                "decay_bias_and_norm)");
}

TEST_F(BadOptimizerRecord, NotAnObject) {
  EXPECT_EQ(load_error_with("[1, 2]"),
            bad_path_ +
                ": metadata optimizers: expected an object {\"<tensor>\": {\"type\": ...}}, "
                "got array");
}

// The state of a recorded optimizer must be there as for the description's.
TEST_F(BadOptimizerRecord, MissingStateOfARecordedOptimizer) {
  SafetensorsFile<double> file = load_safetensors<double>(good_path_);
  std::erase_if(file.tensors,
                [](const auto& t) { return t.name == "layer0.weights.sgdwithmomentum.v"; });
  save_safetensors(bad_path_, file.tensors, file.metadata);
  EXPECT_EQ(message_of<std::invalid_argument>([&] { (void)load_checkpoint<double>(bad_path_); }),
            bad_path_ + ": missing optimizer state tensor 'layer0.weights.sgdwithmomentum.v'");
}

}  // namespace
}  // namespace cnnkit
