// cnnkit summary: the layer table of a preset, a model JSON file or a saved model.
#include <iostream>
#include <string>

#include "cnnkit/model/model_file.hpp"
#include "cnnkit/model/model_summary.hpp"
#include "command.hpp"

namespace cnnkit::cli {

namespace {

int run_summary(const std::string& model) {
  const bool saved = model.ends_with(".safetensors");
  const ModelDescription description =
      saved ? load_model<float>(model).description : resolve_model_description(model);
  std::cout << format_summary(summarize(description));
  return 0;
}

}  // namespace

Command add_summary_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  CLI::App* summary = app.add_subcommand(
      "summary", "Print a model's layers, output shapes, parameter counts and FLOPs");
  summary->add_option("--model", *model, "Preset, model JSON file or .safetensors model file")
      ->required();
  return {summary, [model] { return run_summary(*model); }};
}

}  // namespace cnnkit::cli
