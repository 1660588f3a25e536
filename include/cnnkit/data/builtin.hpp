// Loaders for the two small data sets the repository ships in data/ (see data/README.md), and the
// fixed-seed train/test split the repository's digits examples, tests and benchmarks use.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "cnnkit/data/dataset.hpp"

namespace cnnkit {

// Fisher's Iris (scikit-learn's iris.csv): inputs (150, 4) in cm as written in the file, labels
// 0..2, class names setosa/versicolor/virginica. The first line "150,4,setosa,versicolor,virginica"
// gives the sample count, the feature count and the class names; each further line is the
// features then the class index. Throws std::runtime_error naming the file, the line and what
// was wrong when the file is missing or malformed.
template <typename T>
Dataset<T> load_iris(const std::string& path);

// The UCI 8x8 hand-written digits (scikit-learn's digits.csv.gz, read with zlib): inputs
// (count, 1, 8, 8) with pixels 0..16 divided by 16, labels 0..9, class names "0".."9". Each line
// holds 64 pixels then the digit. Throws std::runtime_error as load_iris does.
template <typename T>
Dataset<T> load_digits(const std::string& path);

// Shuffles the samples with an engine of its own seeded with `seed` (the library's engine is left
// alone), then puts the first round(train_fraction * size) into the first (training) set and the
// rest into the second (test): for the digits and kDigitsSplit, 1198 training images.
// train_fraction must lie in (0, 1), else std::invalid_argument.
template <typename T>
std::pair<Dataset<T>, Dataset<T>> shuffled_split(const Dataset<T>& dataset, double train_fraction,
                                                 std::uint64_t seed);

// The arguments of one fixed train/test split.
struct DataSplit {
  double train_fraction;
  std::uint64_t split_seed;
};

// The digits split of the examples, tests and benchmarks:
// shuffled_split(digits, kDigitsSplit.train_fraction, kDigitsSplit.split_seed).
inline constexpr DataSplit kDigitsSplit{2.0 / 3.0, 0};

extern template Dataset<float> load_iris<float>(const std::string&);
extern template Dataset<double> load_iris<double>(const std::string&);
extern template Dataset<float> load_digits<float>(const std::string&);
extern template Dataset<double> load_digits<double>(const std::string&);
extern template std::pair<Dataset<float>, Dataset<float>> shuffled_split<float>(
    const Dataset<float>&, double, std::uint64_t);
extern template std::pair<Dataset<double>, Dataset<double>> shuffled_split<double>(
    const Dataset<double>&, double, std::uint64_t);

}  // namespace cnnkit
