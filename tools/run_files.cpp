#include "run_files.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "cnnkit/io/atomic_file.hpp"
#include "report/plots.hpp"

namespace cnnkit::cli {

namespace {

// Full precision, so the CSV holds exactly what was measured; unknown values stay empty.
std::string csv_number(double value) {
  if (!std::isfinite(value)) return "";
  char text[64];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

// Up to 32 test images for samples.png: the first mistakes (at most a quarter of the grid) and the
// first correct answers, in test-set order, so the picture shows both what works and what not.
std::vector<std::size_t> chosen_samples(const Evaluation& evaluation,
                                        const std::vector<std::size_t>& labels) {
  constexpr std::size_t kTiles = 32;
  std::vector<std::size_t> mistakes;
  std::vector<std::size_t> correct;
  for (std::size_t i = 0; i < evaluation.predictions.size(); ++i) {
    std::vector<std::size_t>& bucket = evaluation.predictions[i] == labels[i] ? correct : mistakes;
    if (bucket.size() < kTiles) bucket.push_back(i);
  }
  mistakes.resize(std::min(mistakes.size(), kTiles / 4));
  correct.resize(std::min(correct.size(), kTiles - mistakes.size()));
  std::vector<std::size_t> chosen = mistakes;
  chosen.insert(chosen.end(), correct.begin(), correct.end());
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

}  // namespace

void write_metrics_csv(const std::string& path, const std::vector<EpochMetrics>& history) {
  // The validation columns only for a run with validation: other runs' files stay as they were.
  const bool validation = std::any_of(history.begin(), history.end(), [](const EpochMetrics& m) {
    return !std::isnan(m.validation_loss);
  });
  std::string text = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds";
  text += validation ? ",validation_loss,validation_accuracy\n" : "\n";
  for (const EpochMetrics& m : history) {
    text += std::to_string(m.epoch) + "," + csv_number(m.train_loss) + "," +
            csv_number(m.train_accuracy) + "," + csv_number(m.test_loss) + "," +
            csv_number(m.test_accuracy) + "," + csv_number(m.seconds);
    if (validation) {
      text += ',';
      text += csv_number(m.validation_loss) + "," + csv_number(m.validation_accuracy);
    }
    text += "\n";
  }
  write_file_atomically(path, text);
}

void write_run_pictures(const std::string& dir, const std::string& title,
                        const std::vector<EpochMetrics>& history, const Evaluation& evaluation,
                        const Dataset<float>& test_set,
                        const std::vector<std::string>& class_names) {
  const std::filesystem::path folder(dir);
  std::vector<report::EpochRecord> records;
  for (const EpochMetrics& m : history) {
    records.push_back(
        {m.epoch, m.train_loss, m.test_loss, m.test_accuracy, m.train_accuracy, m.seconds});
  }
  if (!records.empty()) report::write_curves_png((folder / "curves.png").string(), records, title);
  if (evaluation.predictions.empty()) return;  // no test set
  report::write_confusion_png((folder / "confusion.png").string(), evaluation.confusion,
                              class_names, title);

  const Shape sample = test_set.sample_shape();
  if (sample.size() != 3 || (sample[0] != 1 && sample[0] != 3)) return;  // not images
  const std::size_t pixels = element_count(sample);
  std::vector<report::SampleTile> tiles;
  for (const std::size_t i : chosen_samples(evaluation, test_set.labels)) {
    const float* first = test_set.inputs.data() + i * pixels;
    report::SampleTile tile;
    tile.pixels.assign(first, first + pixels);
    // Inputs scaled by the loaders lie in [0, 1]; clamp whatever a custom source holds.
    for (float& value : tile.pixels) value = std::clamp(value, 0.0f, 1.0f);
    tile.channels = sample[0];
    tile.height = sample[1];
    tile.width = sample[2];
    tile.predicted = evaluation.predictions[i];
    tile.truth = test_set.labels[i];
    tile.confidence = std::clamp(evaluation.confidence[i], 0.0, 1.0);
    tiles.push_back(std::move(tile));
  }
  report::write_samples_png((folder / "samples.png").string(), tiles, class_names, title);
}

}  // namespace cnnkit::cli
