// User layers and optimizers through the registry: a Scale layer and a SignSgd optimizer, written
// outside the library, appear in JSON descriptions, model files, checkpoints and summaries, and
// an unknown type's message names the registry.
#include "cnnkit/registry.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/io/safetensors.hpp"
#include "cnnkit/layers/flatten.hpp"
#include "cnnkit/layers/softmax.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "cnnkit/model/network_description.hpp"
#include "cnnkit/model/trainer.hpp"
#include "cnnkit/random.hpp"
#include "layer_test_helpers.hpp"
#include "temp_dir.hpp"

namespace cnnkit {
namespace {

using testing::message_of;

// y = w x with one trainable factor w.
template <typename T>
class Scale : public Layer<T> {
 public:
  explicit Scale(T factor) : factor_("weights", Tensor<T>({1}, factor)) {}
  std::string type() const override { return "Scale"; }
  using Layer<T>::forward;
  using Layer<T>::backward;
  Tensor<T> forward(const Tensor<T>& input) override {
    input_ = input;
    Tensor<T> output = input;
    for (T& v : output) v *= factor_.value[0];
    return output;
  }
  Tensor<T> backward(const Tensor<T>& error) override {
    T gradient = 0;
    Tensor<T> input_error = error;
    for (std::size_t i = 0; i < error.size(); ++i) {
      gradient += error[i] * input_[i];
      input_error[i] *= factor_.value[0];
    }
    factor_.gradient[0] = gradient;
    this->apply_updates();
    return input_error;
  }
  std::vector<Parameter<T>*> parameters() override { return {&factor_}; }
  T factor() const { return factor_.value[0]; }

 private:
  Parameter<T> factor_;
  Tensor<T> input_;
};

// w -= learning_rate * step * sign(g), counting its updates (state "count").
template <typename T>
class SignSgd : public Optimizer<T> {
 public:
  SignSgd(T learning_rate, T step) : learning_rate_(learning_rate), step_(step) {}
  Tensor<T> calculate_update(const Tensor<T>& weights, const Tensor<T>& gradient) override {
    Tensor<T> updated = weights;
    for (std::size_t i = 0; i < updated.size(); ++i) {
      updated[i] -= learning_rate_ * step_ *
                    (gradient[i] > 0   ? T(1)
                     : gradient[i] < 0 ? T(-1)
                                       : T(0));
    }
    count_ += 1;
    return updated;
  }
  std::unique_ptr<Optimizer<T>> clone() const override { return std::make_unique<SignSgd>(*this); }
  std::string name() const override { return "SignSgd"; }
  std::map<std::string, Tensor<T>> state() const override {
    return {{"count", Tensor<T>({1}, count_)}};
  }
  void set_state(const std::map<std::string, Tensor<T>>& state) override {
    count_ = state.at("count")[0];
  }
  T learning_rate() const { return learning_rate_; }
  T step() const { return step_; }
  T count() const { return count_; }

 private:
  T learning_rate_;
  T step_;
  T count_ = 0;
};

// Registers both once per process (the registry refuses a name twice).
void register_user_types() {
  static const bool registered = [] {
    register_layer(
        "Scale",
        []<typename T>(const LayerSpec& spec, const Shape&) -> std::unique_ptr<Layer<T>> {
          return std::make_unique<Scale<T>>(static_cast<T>(spec.attributes.at("factor")));
        },
        []<typename T>(const Layer<T>& layer) -> std::optional<LayerSpec> {
          LayerSpec spec;
          spec.attributes["factor"] =
              static_cast<double>(dynamic_cast<const Scale<T>&>(layer).factor());
          return spec;
        });
    register_optimizer(
        "SignSgd",
        []<typename T>(const OptimizerSpec& spec) -> std::unique_ptr<Optimizer<T>> {
          return std::make_unique<SignSgd<T>>(static_cast<T>(spec.learning_rate),
                                              static_cast<T>(spec.attributes.at("step")));
        },
        []<typename T>(const Optimizer<T>& optimizer) -> std::optional<OptimizerSpec> {
          const auto& sign = dynamic_cast<const SignSgd<T>&>(optimizer);
          OptimizerSpec spec;
          spec.type = "SignSgd";
          spec.learning_rate = static_cast<double>(sign.learning_rate());
          spec.attributes["step"] = static_cast<double>(sign.step());
          return spec;
        });
    return true;
  }();
  (void)registered;
}

const std::string kUserModel = R"({"name": "user", "input_shape": [4],
  "layers": [{"type": "Scale", "name": "scale", "factor": 0.5},
             {"type": "FullyConnected", "outputs": 8}, {"type": "ReLU"},
             {"type": "FullyConnected", "outputs": 3}, {"type": "SoftMax"}],
  "optimizer": {"type": "SignSgd", "learning_rate": 0.01, "step": 0.5}})";

TEST(Registry, UserTypesRoundTripThroughJson) {
  register_user_types();
  const ModelDescription d = parse_model_description(kUserModel, "user.json");
  EXPECT_EQ(d.layers[0].type, "Scale");
  EXPECT_EQ(d.layers[0].attributes, (std::map<std::string, double>{{"factor", 0.5}}));
  EXPECT_EQ(d.optimizer.type, "SignSgd");
  EXPECT_EQ(d.optimizer.learning_rate, 0.01);
  EXPECT_EQ(d.optimizer.attributes, (std::map<std::string, double>{{"step", 0.5}}));
  EXPECT_EQ(parse_model_description(to_json(d), "again.json"), d);
  // The summary builds the user layer like any other.
  const ModelSummary summary = summarize(d);
  EXPECT_EQ(summary.rows[0].layer, "Scale factor 0.5");
  EXPECT_EQ(summary.rows[0].parameters, 1u);
  EXPECT_NE(format_summary(summary).find("Scale"), std::string::npos);
}

TEST(Registry, UserTypesRoundTripThroughAModelFileAndACheckpoint) {
  register_user_types();
  const Dataset<double> iris = load_iris<double>(std::string(CNNKIT_DATA_DIR) + "/iris.csv");
  set_seed(12);
  Model<double> model = build_model<double>(parse_model_description(kUserModel, "user.json"));
  TrainingState state;
  set_seed(13);
  train(model, iris, iris, TrainOptions{2, 16, 1000}, state);
  const auto& scale = dynamic_cast<const Scale<double>&>(model.graph.layer(0));
  EXPECT_NE(scale.factor(), 0.5);  // trained: 20 signed steps of 0.005
  const auto& optimizer = dynamic_cast<const SignSgd<double>&>(
      *std::as_const(model.graph.layer(0)).parameters()[0]->optimizer);
  EXPECT_EQ(optimizer.count(), 20.0);  // 150 samples in batches of 16: 10 updates per epoch

  const testing::TempDir dir;
  const std::string model_path = (dir.path() / "user.safetensors").string();
  save_model(model_path, model.description, model.graph.layers());
  Model<double> loaded = load_model<double>(model_path);
  EXPECT_EQ(dynamic_cast<const Scale<double>&>(loaded.graph.layer(0)).factor(), scale.factor());
  EXPECT_EQ(loaded.forward(iris.inputs), model.forward(iris.inputs));

  const std::string checkpoint_path = (dir.path() / "user.checkpoint.safetensors").string();
  save_checkpoint(checkpoint_path, model, state);
  EXPECT_TRUE(load_safetensors<double>(checkpoint_path).contains("scale.weights.signsgd.count"));
  Checkpoint<double> resumed = load_checkpoint<double>(checkpoint_path);
  const auto& restored = dynamic_cast<const SignSgd<double>&>(
      *std::as_const(resumed.model.graph.layer(0)).parameters()[0]->optimizer);
  EXPECT_EQ(restored.count(), 20.0);
  EXPECT_EQ(restored.step(), 0.5);
  // Resumed and uninterrupted runs agree on a third epoch.
  set_seed(14);
  train(model, iris, iris, TrainOptions{3, 16, 1000}, state);
  set_seed(14);
  train(resumed.model, iris, iris, TrainOptions{3, 16, 1000}, resumed.state);
  EXPECT_EQ(resumed.model.forward(iris.inputs), model.forward(iris.inputs));
}

TEST(Registry, AUserOptimizerOnOneLayerIsRecordedInTheCheckpoint) {
  register_user_types();
  set_seed(15);
  Model<float> model = build_model<float>(preset("iris-mlp"));  // Adam
  model.graph.layer(0).set_optimizer(SignSgd<float>(0.25f, 2.0f));
  const testing::TempDir dir;
  const std::string path = (dir.path() / "mixed.safetensors").string();
  save_checkpoint(path, model, TrainingState{0, 0, save_random_state(), {}});
  Checkpoint<float> loaded = load_checkpoint<float>(path);
  const auto* sign = dynamic_cast<const SignSgd<float>*>(
      std::as_const(loaded.model.graph.layer(0)).parameters()[1]->optimizer.get());
  ASSERT_NE(sign, nullptr);
  EXPECT_EQ(sign->learning_rate(), 0.25f);
  EXPECT_EQ(sign->step(), 2.0f);
}

TEST(Registry, AHandBuiltNetworkWithAUserLayerDescribesItself) {
  register_user_types();
  Graph<float> graph;
  graph.add("scale", std::make_unique<Scale<float>>(0.75f), {"input"});
  graph.add("flatten", std::make_unique<Flatten<float>>(), {"scale"});
  graph.add("softmax", std::make_unique<SoftMax<float>>(), {"flatten"});
  const ModelDescription d = describe_network(graph, CrossEntropyLoss<float>(), {2, 2});
  EXPECT_EQ(d.layers[0].type, "Scale");
  EXPECT_EQ(d.layers[0].attributes.at("factor"), 0.75);
}

TEST(Registry, UnknownTypesNameTheRegistry) {
  register_user_types();
  const std::string layer = message_of<std::invalid_argument>([] {
    (void)parse_model_description(
        R"({"input_shape": [4], "layers": [{"type": "Scael"}, {"type": "SoftMax"}]})", "u.json");
  });
  EXPECT_NE(layer.find("u.json: layer 0: unknown layer type 'Scael' (known: Conv,"),
            std::string::npos)
      << layer;
  EXPECT_NE(layer.find("; registered: Scale (a user layer is registered with register_layer, "
                       "cnnkit/registry.hpp))"),
            std::string::npos)
      << layer;
  const std::string optimizer = message_of<std::invalid_argument>([] {
    (void)parse_model_description(R"({"input_shape": [4], "layers": [{"type": "SoftMax"}],
        "optimizer": {"type": "SignSGD"}})",
                                  "u.json");
  });
  EXPECT_NE(optimizer.find("unknown type 'SignSGD' (known: Adam, AdamW, Sgd, SgdWithMomentum; "
                           "registered: SignSgd (a user optimizer is registered with "
                           "register_optimizer, cnnkit/registry.hpp))"),
            std::string::npos)
      << optimizer;
}

TEST(Registry, RefusesABuiltInNameAndASecondRegistration) {
  register_user_types();
  const auto make = []<typename T>(const LayerSpec&, const Shape&) -> std::unique_ptr<Layer<T>> {
    return nullptr;
  };
  EXPECT_EQ(message_of<std::invalid_argument>([&] { register_layer("Conv", make); }),
            "register_layer: expected a name other than the built-in types', got 'Conv'");
  EXPECT_EQ(message_of<std::invalid_argument>([&] { register_layer("Scale", make); }),
            "register_layer: expected a name not registered yet, got 'Scale' a second time");
}

}  // namespace
}  // namespace cnnkit
