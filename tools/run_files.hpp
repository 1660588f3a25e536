// The files of a training run folder besides the model and the checkpoint: metrics.csv and the
// pictures (curves.png, confusion.png, samples.png), all written atomically.
#pragma once

#include <string>

#include "cnnkit/data/dataset.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/training_state.hpp"

namespace cnnkit::cli {

// metrics.csv: "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds", and
// ",validation_loss,validation_accuracy" for a run with validation, one row per epoch of the
// history (empty fields for unknown values).
void write_metrics_csv(const std::string& path, const std::vector<EpochMetrics>& history);

// curves.png from the history; confusion.png and samples.png from the last evaluation of the
// test set (samples.png only when the samples are images: 1 or 3 channels).
void write_run_pictures(const std::string& dir, const std::string& title,
                        const std::vector<EpochMetrics>& history, const Evaluation& evaluation,
                        const Dataset<float>& test_set,
                        const std::vector<std::string>& class_names);

}  // namespace cnnkit::cli
