// cnnkit predict: the most probable classes of image files under a saved model.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnnkit/data/image_folder.hpp"
#include "cnnkit/model/model_file.hpp"
#include "command.hpp"
#include "number_options.hpp"

namespace cnnkit::cli {

namespace {

struct PredictArguments {
  std::string model;
  std::vector<std::string> images;
  std::size_t top = 3;
  bool allow_non_finite = false;
  bool json = false;
};

// One JSON document: per image its file, the predicted class and every class's probability. Each
// float goes out as the shortest decimal that reads back to the same float (through double, which
// holds every float exactly), so other programs and languages can compare predictions bit for bit.
void print_json(const std::vector<std::string>& files,
                const std::vector<Tensor<float>>& probabilities,
                const std::vector<std::string>& class_names) {
  nlohmann::json images = nlohmann::json::array();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const Tensor<float>& p = probabilities[i];
    std::vector<double> values(p.begin(), p.end());
    const std::size_t predicted =
        static_cast<std::size_t>(std::distance(p.begin(), std::max_element(p.begin(), p.end())));
    images.push_back({{"file", files[i]}, {"predicted", predicted}, {"probabilities", values}});
  }
  std::cout << nlohmann::json{{"classes", class_names}, {"images", images}}.dump(2) << "\n";
}

int run_predict(const PredictArguments& args) {
  Model<float> model = load_model<float>(args.model, {.allow_non_finite = args.allow_non_finite});
  const ModelDescription& description = model.description;
  if (description.input_shape.size() != 3) {
    throw std::invalid_argument("model '" + description.name + "' takes input " +
                                to_string(description.input_shape) +
                                ", expected an image model (input [channels, height, width])");
  }
  // Every image is checked before any output: a bad file fails the command as a whole.
  std::vector<Tensor<float>> inputs;
  for (const std::string& path : args.images) {
    inputs.push_back(load_image<float>(path, description.input_shape));
  }
  std::vector<Tensor<float>> predictions;
  for (const Tensor<float>& input : inputs) predictions.push_back(model.predict(input));
  if (args.json) {
    print_json(args.images, predictions, description.classes);
    return 0;
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor<float>& probabilities = predictions[i];
    const std::size_t classes = probabilities.size();
    std::vector<std::size_t> order(classes);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return probabilities[a] > probabilities[b];
    });
    std::cout << args.images[i] << "\n";
    for (std::size_t rank = 0; rank < std::min(args.top, classes); ++rank) {
      const std::size_t c = order[rank];
      const std::string name =
          c < description.classes.size() ? description.classes[c] : std::to_string(c);
      char line[64];
      std::snprintf(line, sizeof line, "  %zu. %6.2f%%  ", rank + 1,
                    100.0 * static_cast<double>(probabilities[c]));
      std::cout << line << name << " (class " << c << ")\n";
    }
  }
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  auto args = std::make_shared<PredictArguments>();
  CLI::App* predict =
      app.add_subcommand("predict", "Print the most probable classes of images under a model");
  predict->add_option("--model", args->model, "Model file (model.safetensors or a checkpoint)")
      ->required();
  predict->add_option("images", args->images, "Image files (PNG, JPEG, BMP, ...)")->required();
  predict->add_option("--top", args->top, "How many classes to show")
      ->check(whole_number(1, kMaxCount))
      ->capture_default_str();
  predict->add_flag(
      "--json", args->json,
      "Print every class's probability as JSON, at full precision, instead of the top "
      "classes");
  predict->add_flag("--allow-non-finite", args->allow_non_finite,
                    "Load a model whose weights hold NaN or infinity (refused by default)");
  return {predict, [args] { return run_predict(*args); }};
}

}  // namespace cnnkit::cli
