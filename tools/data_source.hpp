// The --data option: which data set a command trains or evaluates on, written as a short spec.
//   fashion-mnist[:DIR]   Fashion-MNIST IDX files (default DIR: the Debian package's folder)
//   mnist:DIR, idx:DIR    any data set in the MNIST file layout (MNIST, KMNIST, ...)
//   digits, iris          the small data sets shipped in the repository's data/ folder
//   csv:PATH              a CSV file, class in the first column
//   folder:DIR            images in DIR/<class>/, or DIR/train/<class>/ and DIR/test/<class>/
// Data sets without their own test part are split 2/3 training, 1/3 test with a fixed seed, so
// train and eval always see the same test images.
#pragma once

#include <string>

#include "cnnkit/data/dataset.hpp"
#include "cnnkit/model/model_description.hpp"

namespace cnnkit::cli {

struct DataSplit {
  std::string spec;  // as given, for messages
  Dataset<float> train;
  Dataset<float> test;
  // The samples' shape in the file when load_data reshaped them to the model's input (same
  // element count, another shape: a CSV row for a 1-D convolution); empty otherwise.
  Shape reshaped_from{};
};

// Loads the spec; `description` gives the sample shape image folders are converted to, and that
// any other data set is reshaped to when its samples hold as many values in another shape.
// Throws UsageError for a spec of unknown kind, std::runtime_error / std::invalid_argument (from
// the loaders) for missing or broken files.
DataSplit load_data(const std::string& spec, const ModelDescription& description);

// The data set a preset was made for ("digits" for digits-cnn, ...); throws UsageError for
// other models: they need --data.
std::string default_data_spec(const ModelDescription& description);

// What `cnnkit train` uses for a model (by its name) when the options leave it out: the batch size
// and the --augment text. A checkpoint keeps the description, so a resumed run finds the same.
struct TrainingRecipe {
  std::size_t batch_size = 64;
  std::string augment;
};
TrainingRecipe default_recipe(const ModelDescription& description);

}  // namespace cnnkit::cli
