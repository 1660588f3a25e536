// Model files and checkpoints: bit-exact round trips, resuming a run bit for bit, and a clear
// message for every way a file can be wrong.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/io/safetensors.hpp"
#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"

namespace cnnkit {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class ModelFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("cnnkit_model_file_") + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

// Every parameter of both models, element for element (exact: files must not round anything).
template <typename T>
void expect_same_parameters(const Model<T>& a, const Model<T>& b) {
  ASSERT_EQ(a.graph.layers().size(), b.graph.layers().size());
  for (std::size_t i = 0; i < a.graph.layers().size(); ++i) {
    const auto pa = std::as_const(*a.graph.layers()[i]).parameters();
    const auto pb = std::as_const(*b.graph.layers()[i]).parameters();
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t p = 0; p < pa.size(); ++p) {
      EXPECT_EQ(pa[p]->value, pb[p]->value) << "layer " << i << " " << pa[p]->name;
    }
  }
}

template <typename T>
void expect_same_optimizer_states(const Model<T>& a, const Model<T>& b) {
  for (std::size_t i = 0; i < a.graph.layers().size(); ++i) {
    const auto pa = std::as_const(*a.graph.layers()[i]).parameters();
    const auto pb = std::as_const(*b.graph.layers()[i]).parameters();
    for (std::size_t p = 0; p < pa.size(); ++p) {
      EXPECT_EQ(pa[p]->optimizer->state(), pb[p]->optimizer->state()) << "layer " << i;
    }
  }
}

// The digits split of workload W2.
std::pair<Dataset<float>, Dataset<float>> digits() {
  return shuffled_split(load_digits<float>(std::string(CNNKIT_DATA_DIR) + "/digits.csv.gz"),
                        2.0 / 3.0, 0);
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& error) {
    return error.what();
  }
  return "";
}

TEST_F(ModelFileTest, ModelRoundTripIsBitExact) {
  set_seed(5);
  Model<float> model = build_model<float>(preset("digits-cnn"));
  const auto [train_set, test_set] = digits();
  TrainingState state;
  train(model, train_set, test_set, TrainOptions{1, 64, 1000}, state);

  save_model(path("m.safetensors"), model.description, model.graph.layers());
  set_seed(99);
  const auto before = random_engine()();
  set_seed(99);
  Model<float> loaded = load_model<float>(path("m.safetensors"));
  EXPECT_EQ(random_engine()(), before) << "loading must not draw from the random engine";
  EXPECT_EQ(loaded.description, model.description);
  expect_same_parameters(model, loaded);
  EXPECT_EQ(model.forward(test_set.inputs), loaded.forward(test_set.inputs));

  // The layout the header promises, read back as plain safetensors.
  const SafetensorsFile<float> file = load_safetensors<float>(path("m.safetensors"));
  EXPECT_EQ(file.metadata.at("format"), "cnnkit-model");
  EXPECT_EQ(file.metadata.at("format_version"), "2");
  EXPECT_EQ(parse_model_description(file.metadata.at("cnnkit_model")), model.description);
  EXPECT_EQ(file.at("layer0.weights").shape(), (Shape{4, 1, 3, 3}));
  EXPECT_EQ(file.at("layer0.bias").shape(), (Shape{4}));
  EXPECT_EQ(file.at("layer4.weights").shape(), (Shape{64, 32}));
  EXPECT_EQ(file.at("layer6.bias").shape(), (Shape{1, 10}));
  EXPECT_EQ(file.tensors.size(), 6u);
}

TEST_F(ModelFileTest, DoubleModelRoundTrips) {
  set_seed(2);
  const Model<double> model = build_model<double>(preset("iris-mlp"));
  save_model(path("m.safetensors"), model.description, model.graph.layers());
  expect_same_parameters(model, load_model<double>(path("m.safetensors")));
}

// The core promise of checkpoints: 2 epochs == 1 epoch, save, load, 1 more epoch, bit for bit.
TEST_F(ModelFileTest, ResumeFromCheckpointEqualsUninterruptedRun) {
  set_num_threads(1);
  const auto [train_set, test_set] = digits();
  const ModelDescription description = preset("digits-cnn");
  const TrainOptions two_epochs{2, 50, 1000};

  set_seed(42);
  Model<float> straight = build_model<float>(description);
  TrainingState straight_state;
  train(straight, train_set, test_set, two_epochs, straight_state);

  set_seed(42);
  Model<float> first = build_model<float>(description);
  TrainingState first_state;
  TrainCallbacks<float> save_each_epoch;
  save_each_epoch.on_epoch = [&](const Model<float>& m, const TrainingState& s, const Evaluation&) {
    save_checkpoint(path("checkpoint.safetensors"), m, s);
  };
  train(first, train_set, test_set, TrainOptions{1, 50, 1000}, first_state, save_each_epoch);

  set_seed(7);  // anything in between must not matter
  build_model<float>(description);
  Checkpoint<float> checkpoint = load_checkpoint<float>(path("checkpoint.safetensors"));
  EXPECT_EQ(checkpoint.state.epoch, 1u);
  EXPECT_EQ(checkpoint.state.batch_size, 50u);
  ASSERT_EQ(checkpoint.state.history.size(), 1u);
  EXPECT_EQ(checkpoint.state.history[0].test_accuracy, first_state.history[0].test_accuracy);
  expect_same_parameters(first, checkpoint.model);
  expect_same_optimizer_states(first, checkpoint.model);

  restore_random_state(checkpoint.state.random_state);
  train(checkpoint.model, train_set, test_set, two_epochs, checkpoint.state);

  expect_same_parameters(straight, checkpoint.model);
  expect_same_optimizer_states(straight, checkpoint.model);
  ASSERT_EQ(checkpoint.state.history.size(), 2u);
  EXPECT_EQ(checkpoint.state.history[1].train_loss, straight_state.history[1].train_loss);
  EXPECT_EQ(checkpoint.state.history[1].test_accuracy, straight_state.history[1].test_accuracy);
  // 48 updates already lift W2's network far above chance (0.1; it measured 0.74): training
  // really happened, so the equality above compares weights that moved.
  EXPECT_GT(straight_state.history[1].test_accuracy, 0.5);
  set_num_threads(0);
}

TEST_F(ModelFileTest, CheckpointLoadsAsAModelAndKeepsAdamSteps) {
  set_seed(3);
  Model<float> model = build_model<float>(preset("digits-cnn"));
  const auto [train_set, test_set] = digits();
  TrainingState state;
  train(model, train_set, Dataset<float>{}, TrainOptions{1, 100, 1000}, state);
  save_checkpoint(path("c.safetensors"), model, state);

  expect_same_parameters(model, load_model<float>(path("c.safetensors")));
  const SafetensorsFile<float> file = load_safetensors<float>(path("c.safetensors"));
  // 1198 training samples in batches of 100: 12 updates of every parameter.
  EXPECT_EQ(file.at("layer0.weights.adam.k")[0], 12.0f);
  EXPECT_EQ(file.at("layer0.weights.adam.v").shape(), (Shape{4, 1, 3, 3}));
  EXPECT_EQ(file.metadata.at("format"), "cnnkit-checkpoint");
  EXPECT_EQ(file.metadata.at("epoch"), "1");
  // No test set: the test figures are unknown and stay so through the file.
  const Checkpoint<float> loaded = load_checkpoint<float>(path("c.safetensors"));
  EXPECT_TRUE(std::isnan(loaded.state.history[0].test_accuracy));
  EXPECT_EQ(loaded.state.history[0].train_loss, state.history[0].train_loss);
}

TEST_F(ModelFileTest, FreshCheckpointHasEmptyAdamMoments) {
  set_seed(3);
  const Model<float> model = build_model<float>(preset("iris-mlp"));
  save_checkpoint(path("c.safetensors"), model, TrainingState{0, 0, save_random_state(), {}});
  const Checkpoint<float> loaded = load_checkpoint<float>(path("c.safetensors"));
  expect_same_optimizer_states(model, loaded.model);
}

// ---- bad files

TEST_F(ModelFileTest, BatchNormRunningStatisticsRoundTrip) {
  const ModelDescription description = parse_model_description(
      R"({"name": "bn", "input_shape": [4], "layers": [{"type": "BatchNorm"},
          {"type": "FullyConnected", "outputs": 3}, {"type": "SoftMax"}]})");
  set_seed(2);
  Model<float> model = build_model<float>(description);
  Tensor<float> batch({5, 4});
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = std::cos(1.7f * float(i)) * 3.0f;
  model.graph.forward(
      Tensor<float>(batch));  // a training-phase forward moves the running statistics
  const auto& norm = dynamic_cast<const BatchNorm<float>&>(*model.graph.layers()[0]);
  ASSERT_NE(norm.running_mean(), Tensor<float>({4}, 0.0f));
  save_model(path("bn.safetensors"), model.description, model.graph.layers());
  const SafetensorsFile<float> file = load_safetensors<float>(path("bn.safetensors"));
  EXPECT_EQ(file.at("layer0.running_mean"), norm.running_mean());
  EXPECT_EQ(file.at("layer0.running_var"), norm.running_var());
  const Model<float> loaded = load_model<float>(path("bn.safetensors"));
  expect_same_parameters(model, loaded);
  const auto& loaded_norm = dynamic_cast<const BatchNorm<float>&>(*loaded.graph.layers()[0]);
  EXPECT_EQ(loaded_norm.running_mean(), norm.running_mean());
  EXPECT_EQ(loaded_norm.running_var(), norm.running_var());
  // Without the running variance the file does not load.
  std::vector<NamedTensor<float>> tensors = file.tensors;
  std::erase_if(tensors, [](const auto& t) { return t.name == "layer0.running_var"; });
  save_safetensors(path("bad.safetensors"), tensors, file.metadata);
  EXPECT_EQ(error_of([&] { load_model<float>(path("bad.safetensors")); }),
            path("bad.safetensors") +
                ": missing tensor 'layer0.running_var' for layer 0 (BatchNorm) running_var");
}

class BadModelFile : public ModelFileTest {
 protected:
  void SetUp() override {
    ModelFileTest::SetUp();
    set_seed(1);
    model_ = std::make_unique<Model<float>>(build_model<float>(preset("digits-cnn")));
    save_model(path("good.safetensors"), model_->description, model_->graph.layers());
    good_ = load_safetensors<float>(path("good.safetensors"));
  }
  // Writes the good file's tensors and metadata after `change`, returns the load error.
  std::string load_error_after(
      const std::function<void(std::vector<NamedTensor<float>>&,
                               std::map<std::string, std::string>&)>& change) {
    std::vector<NamedTensor<float>> tensors = good_.tensors;
    std::map<std::string, std::string> metadata = good_.metadata;
    change(tensors, metadata);
    save_safetensors(path("bad.safetensors"), tensors, metadata);
    return error_of([&] { load_model<float>(path("bad.safetensors")); });
  }

  std::unique_ptr<Model<float>> model_;
  SafetensorsFile<float> good_;
};

TEST_F(BadModelFile, MissingTensor) {
  const std::string message = load_error_after([](auto& tensors, auto&) {
    std::erase_if(tensors, [](const auto& t) { return t.name == "layer4.weights"; });
  });
  EXPECT_EQ(message, path("bad.safetensors") +
                         ": missing tensor 'layer4.weights' for layer 4 (FullyConnected) weights");
}

TEST_F(BadModelFile, WrongShape) {
  const std::string message = load_error_after([](auto& tensors, auto&) {
    for (auto& t : tensors) {
      if (t.name == "layer0.weights") t.tensor = Tensor<float>({4, 1, 5, 5});
    }
  });
  EXPECT_EQ(message, path("bad.safetensors") +
                         ": tensor 'layer0.weights': expected shape [4, 1, 3, 3] for layer 0 "
                         "(Conv) weights, got [4, 1, 5, 5]");
}

TEST_F(BadModelFile, ExtraTensor) {
  const std::string message = load_error_after([](auto& tensors, auto&) {
    tensors.push_back({"layer9.weights", Tensor<float>({2}, 1.0f)});
  });
  EXPECT_NE(message.find(": unexpected tensor 'layer9.weights'"), std::string::npos) << message;
}

TEST_F(BadModelFile, UnknownVersion) {
  const std::string message =
      load_error_after([](auto&, auto& metadata) { metadata["format_version"] = "7"; });
  EXPECT_EQ(message, path("bad.safetensors") +
                         ": expected format_version 1 to 2 (the ones this cnnkit reads), got "
                         "'7'");
}

TEST_F(BadModelFile, NotACnnkitFile) {
  const std::string message = load_error_after([](auto&, auto& metadata) { metadata.clear(); });
  EXPECT_EQ(message, path("bad.safetensors") +
                         ": expected a cnnkit model file (metadata format cnnkit-model or "
                         "cnnkit-checkpoint), got no format in the metadata");
}

TEST_F(BadModelFile, CorruptDescription) {
  const std::string message = load_error_after(
      [](auto&, auto& metadata) { metadata["cnnkit_model"] = R"({"input_shape": [1, 8, 8])"; });
  EXPECT_NE(message.find(path("bad.safetensors") + " (metadata cnnkit_model): invalid JSON"),
            std::string::npos)
      << message;
}

TEST_F(BadModelFile, TruncatedFileNamesIt) {
  std::ifstream in(path("good.safetensors"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(path("cut.safetensors"), std::ios::binary) << bytes.substr(0, bytes.size() - 100);
  const std::string message = error_of([&] { load_model<float>(path("cut.safetensors")); });
  EXPECT_NE(message.find(path("cut.safetensors")), std::string::npos) << message;
}

TEST_F(BadModelFile, MissingFileNamesIt) {
  const std::string message = error_of([&] { load_model<float>(path("none.safetensors")); });
  EXPECT_NE(message.find(path("none.safetensors")), std::string::npos) << message;
}

TEST_F(BadModelFile, ModelFileIsNoCheckpoint) {
  const std::string message = error_of([&] { load_checkpoint<float>(path("good.safetensors")); });
  EXPECT_EQ(message, path("good.safetensors") +
                         ": expected a checkpoint (format cnnkit-checkpoint), got a model file "
                         "(format cnnkit-model) that holds no optimizer state");
}

TEST_F(BadModelFile, CheckpointWithBrokenState) {
  TrainingState state{1, 64, "not an engine", {EpochMetrics{}}};
  save_checkpoint(path("c.safetensors"), *model_, state);
  EXPECT_EQ(error_of([&] { load_checkpoint<float>(path("c.safetensors")); }),
            path("c.safetensors") + ": metadata random_engine: expected a std::mt19937_64 state");
}

TEST_F(BadModelFile, SaveRejectsLayersOfAnotherModel) {
  const Model<float> iris = build_model<float>(preset("iris-mlp"));
  EXPECT_EQ(error_of([&] {
              save_model(path("x.safetensors"), model_->description, iris.graph.layers());
            }),
            path("x.safetensors") + ": expected 8 layers as model 'digits-cnn' describes, got 4");
  EXPECT_FALSE(fs::exists(path("x.safetensors")));
}

}  // namespace
}  // namespace cnnkit
