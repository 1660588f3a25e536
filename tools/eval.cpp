// cnnkit eval: a saved model on the test part of a data set: loss, accuracy, per-class accuracy
// and the confusion matrix as text.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/model_file.hpp"
#include "cnnkit/threading.hpp"
#include "command.hpp"
#include "data_source.hpp"
#include "number_options.hpp"

namespace cnnkit::cli {

namespace {

struct EvalArguments {
  std::string model;
  std::string data;
  std::size_t batch_size = 1000;
  std::size_t threads = 0;
  bool allow_non_finite = false;
};

std::string fixed(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4f", value);
  return text;
}

std::string pad_left(const std::string& text, std::size_t width) {
  return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
}

std::string pad_right(const std::string& text, std::size_t width) {
  return text + std::string(width > text.size() ? width - text.size() : 0, ' ');
}

void print_report(const Evaluation& evaluation, const std::vector<std::string>& names) {
  const std::size_t classes = evaluation.confusion.size();
  // Rows: "<index> <name>"; columns: the class index (names can be long).
  std::vector<std::string> row_labels;
  std::size_t label_width = 5;
  for (std::size_t c = 0; c < classes; ++c) {
    // "3 Dress", but just "3" where the name is the index (digits).
    const std::string index = std::to_string(c);
    row_labels.push_back(names[c] == index ? index : index + " " + names[c]);
    label_width = std::max(label_width, row_labels.back().size());
  }
  std::cout << "\n" << pad_right("class", label_width) << "  accuracy  samples\n";
  const std::vector<double> per_class = evaluation.per_class_accuracy();
  for (std::size_t c = 0; c < classes; ++c) {
    std::size_t samples = 0;
    for (const std::size_t count : evaluation.confusion[c]) samples += count;
    std::cout << pad_right(row_labels[c], label_width) << "  "
              << pad_left(samples == 0 ? "n/a" : fixed(per_class[c]), 8) << "  "
              << pad_left(std::to_string(samples), 7) << "\n";
  }

  std::size_t cell = 3;
  for (const auto& row : evaluation.confusion) {
    for (const std::size_t count : row) cell = std::max(cell, std::to_string(count).size());
  }
  std::cout << "\nconfusion matrix (rows: true class, columns: predicted class)\n"
            << std::string(label_width, ' ');
  for (std::size_t c = 0; c < classes; ++c) std::cout << " " << pad_left(std::to_string(c), cell);
  std::cout << "\n";
  for (std::size_t t = 0; t < classes; ++t) {
    std::cout << pad_right(row_labels[t], label_width);
    for (std::size_t p = 0; p < classes; ++p) {
      std::cout << " " << pad_left(std::to_string(evaluation.confusion[t][p]), cell);
    }
    std::cout << "\n";
  }
}

int run_eval(EvalArguments args) {
  set_num_threads(args.threads);
  Model<float> model = load_model<float>(args.model, {.allow_non_finite = args.allow_non_finite});
  if (args.data.empty()) args.data = default_data_spec(model.description);
  const DataSplit data = load_data(args.data, model.description);
  const Evaluation evaluation = evaluate(model, data.test, args.batch_size);

  std::vector<std::string> names = model.description.classes;
  if (names.empty()) names = data.test.class_names;
  std::cout << "model " << model.description.name << " (" << args.model << ") on " << data.spec
            << ": " << data.test.size() << " test samples\n"
            << "loss " << fixed(evaluation.loss) << ", accuracy " << fixed(evaluation.accuracy)
            << "\n";
  print_report(evaluation, names);
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& app) {
  auto args = std::make_shared<EvalArguments>();
  CLI::App* eval = app.add_subcommand("eval", "Evaluate a saved model on a data set's test part");
  eval->add_option("--model", args->model, "Model file (model.safetensors or a checkpoint)")
      ->required();
  eval->add_option("--data", args->data,
                   "fashion-mnist[:DIR], mnist:DIR, idx:DIR, digits, iris, csv:PATH or "
                   "folder:DIR (default: the preset's data set)");
  eval->add_option("--batch-size", args->batch_size, "Samples per forward pass")
      ->check(whole_number(1, kMaxBatchSize))
      ->capture_default_str();
  eval->add_option("--threads", args->threads, "Threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  eval->add_flag("--allow-non-finite", args->allow_non_finite,
                 "Load a model whose weights hold NaN or infinity (refused by default)");
  return {eval, [args] { return run_eval(*args); }};
}

}  // namespace cnnkit::cli
