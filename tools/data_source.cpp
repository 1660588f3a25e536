#include "data_source.hpp"

#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <vector>

#include "cnnkit/data/builtin.hpp"
#include "cnnkit/data/csv.hpp"
#include "cnnkit/data/idx.hpp"
#include "cnnkit/data/image_folder.hpp"
#include "command.hpp"

namespace cnnkit::cli {

namespace {

namespace fs = std::filesystem;

// The fixed seed of every train/test split the tool makes (W2's split for digits).
constexpr std::uint64_t kSplitSeed = 0;
constexpr double kTrainFraction = 2.0 / 3.0;

// The shipped data files: $CNNKIT_DATA_DIR, then the source tree the tool was built from, then
// the installed share folder. The error names every path tried.
std::string shipped_file(const std::string& name) {
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("CNNKIT_DATA_DIR"); dir != nullptr && *dir != '\0') {
    candidates.emplace_back(fs::path(dir) / name);
  }
  candidates.emplace_back(fs::path(CNNKIT_SOURCE_DATA_DIR) / name);
  candidates.emplace_back(fs::path(CNNKIT_INSTALL_DATA_DIR) / name);
  std::string tried;
  for (const fs::path& candidate : candidates) {
    std::error_code error;
    if (fs::is_regular_file(candidate, error)) return candidate.string();
    tried += (tried.empty() ? "" : ", ") + candidate.string();
  }
  throw std::runtime_error("data: expected the shipped file " + name + ", found none of " + tried +
                           " (set CNNKIT_DATA_DIR to the folder holding it)");
}

DataSplit split(const std::string& spec, const Dataset<float>& all) {
  auto [train, test] = shuffled_split(all, kTrainFraction, kSplitSeed);
  return {spec, std::move(train), std::move(test)};
}

// "kind:argument" -> argument (empty when there is no colon).
std::string argument_of(const std::string& spec) {
  const auto colon = spec.find(':');
  return colon == std::string::npos ? "" : spec.substr(colon + 1);
}

std::string require_argument(const std::string& spec, std::string_view what) {
  std::string argument = argument_of(spec);
  if (argument.empty()) {
    throw UsageError("--data " + spec + ": expected " + std::string(what) + " after the colon");
  }
  return argument;
}

DataSplit load_folder(const std::string& spec, const std::string& dir,
                      const ModelDescription& description) {
  if (description.input_shape.size() != 3) {
    throw std::invalid_argument("--data " + spec + ": model '" + description.name +
                                "' takes input " + to_string(description.input_shape) +
                                ", expected an image shape [channels, height, width]");
  }
  std::error_code error;
  if (fs::is_directory(fs::path(dir) / "train", error) &&
      fs::is_directory(fs::path(dir) / "test", error)) {
    return {spec,
            load_image_folder<float>((fs::path(dir) / "train").string(), description.input_shape),
            load_image_folder<float>((fs::path(dir) / "test").string(), description.input_shape)};
  }
  return split(spec, load_image_folder<float>(dir, description.input_shape));
}

DataSplit load_any(const std::string& spec, const ModelDescription& description);

}  // namespace

DataSplit load_data(const std::string& spec, const ModelDescription& description) {
  DataSplit data = load_any(spec, description);
  // A file format holds flat rows or images; a model may take another shape with the same values
  // (a 1-D convolution's [channels, length]): those samples are reshaped to it. Other counts are
  // left for the caller's fit check, which names both shapes.
  const Shape sample = data.train.sample_shape();
  if (sample != description.input_shape &&
      element_count(sample) == element_count(description.input_shape)) {
    const std::string source = "--data " + spec;
    data.train.reshape_samples(description.input_shape, source);
    if (data.test.size() > 0) data.test.reshape_samples(description.input_shape, source);
    data.reshaped_from = sample;
  }
  return data;
}

namespace {

DataSplit load_any(const std::string& spec, const ModelDescription& description) {
  const std::string kind = spec.substr(0, spec.find(':'));
  if (kind == "fashion-mnist") {
    const std::string argument = argument_of(spec);
    auto [train, test] = load_idx_directory<float>(argument.empty() ? kFashionMnistDir : argument,
                                                   fashion_mnist_class_names());
    return {spec, std::move(train), std::move(test)};
  }
  if (kind == "mnist" || kind == "idx") {
    auto [train, test] = load_idx_directory<float>(require_argument(spec, "a directory"));
    return {spec, std::move(train), std::move(test)};
  }
  if (spec == "digits") return split(spec, load_digits<float>(shipped_file("digits.csv.gz")));
  if (spec == "iris") return split(spec, load_iris<float>(shipped_file("iris.csv")));
  if (kind == "csv") return split(spec, load_csv<float>(require_argument(spec, "a file path")));
  if (kind == "folder")
    return load_folder(spec, require_argument(spec, "a directory"), description);
  throw UsageError(
      "--data: expected fashion-mnist[:DIR], mnist:DIR, idx:DIR, digits, iris, "
      "csv:PATH or folder:DIR, got '" +
      spec + "'");
}

}  // namespace

std::string default_data_spec(const ModelDescription& description) {
  if (description.name == "fashion-lenet" || description.name == "fashion-resnet") {
    return "fashion-mnist";
  }
  if (description.name == "digits-cnn") return "digits";
  if (description.name == "iris-mlp") return "iris";
  throw UsageError("model '" + description.name +
                   "' has no default data set: expected --data (fashion-mnist, digits, iris, ...)");
}

TrainingRecipe default_recipe(const ModelDescription& description) {
  // W4's recipe (docs/WORKLOADS.md): the batch and augmentation the preset was designed with.
  if (description.name == "fashion-resnet") return {128, "crop=2,flip"};
  return {};
}

}  // namespace cnnkit::cli
