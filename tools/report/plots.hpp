// The pictures of a training run: learning curves, confusion matrix and a grid of test samples.
// Each function draws one PNG (cairo, DejaVu Sans) and writes it atomically: the image goes to a
// temporary file of its own beside <path> ("<path>.tmp-XXXXXX") and is renamed over <path>, so a
// reader never sees a half-written file and two writers never share a temporary name.
//
// Errors: invalid inputs throw std::invalid_argument naming the function, what was expected and
// what came; a file that cannot be written throws std::runtime_error naming the file.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace cnnkit::report {

// One line of metrics.csv. Accuracies are fractions in [0, 1] (drawn as percent); any value may
// be NaN when unknown (e.g. no train accuracy measured) and is then left out of the picture.
struct EpochRecord {
  std::size_t epoch = 0;
  double train_loss = std::numeric_limits<double>::quiet_NaN();
  double test_loss = std::numeric_limits<double>::quiet_NaN();
  double test_accuracy = std::numeric_limits<double>::quiet_NaN();
  double train_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = std::numeric_limits<double>::quiet_NaN();
};

// curves.png, 1200 x 500 pixels: loss per epoch (train and test) on the left, accuracy per
// epoch on the right, a subtitle with the best test accuracy, final test loss and total time.
// history: at least one record, epochs strictly increasing; non-finite losses leave a gap.
void write_curves_png(const std::string& path, const std::vector<EpochRecord>& history,
                      const std::string& title);

// confusion.png: confusion[true][predicted] counts as a heat map, each cell coloured by its
// share of the row (the true class), the count written in it, class names on both axes and the
// overall accuracy in the title. Size for n classes: width W = max(640, 290 + n * cell) with
// cell = clamp(floor(510 / n), 24, 110); height W - 40 when some class name is wider than its
// column (names turned 45 degrees), else W - 100: 800 x 760 for Fashion-MNIST's names, 800 x 700
// for the digits "0".."9".
void write_confusion_png(const std::string& path,
                         const std::vector<std::vector<std::size_t>>& confusion,
                         const std::vector<std::string>& class_names, const std::string& title);

// One test image with the network's answer. pixels: channels x height x width values in [0, 1]
// (channels 1 = grey or 3 = RGB); predicted and truth index class_names; confidence in [0, 1].
struct SampleTile {
  std::vector<float> pixels;
  std::size_t channels = 1;
  std::size_t height = 0;
  std::size_t width = 0;
  std::size_t predicted = 0;
  std::size_t truth = 0;
  double confidence = 0.0;
};

// samples.png: the tiles in rows of 8, each image scaled (nearest neighbour, integer factor) to
// fit 112 x 112 inside a frame, green when predicted == truth and red when not, with the
// captions "<predicted> (<p>%)" and "true: <truth>" under it (the first red on a mistake).
// Size: width max(640, 40 + 150 * columns), height 92 + 180 * rows, columns = min(8, tiles):
// 1240 x 812 for 32 tiles.
void write_samples_png(const std::string& path, const std::vector<SampleTile>& samples,
                       const std::vector<std::string>& class_names, const std::string& title);

}  // namespace cnnkit::report
