// Per-channel normalisation of a data set: x <- (x - mean[c]) / std[c] for every value of channel
// c (axis 0 of a sample: (C, H, W), (C, L), or each feature of (F)). Applied once to the training
// and the test set alike, before training. `cnnkit train --normalize` puts the same arithmetic in
// the model instead (layers/normalize.hpp, model/input_normalization.hpp), so it is saved with it.
#pragma once

#include <vector>

#include "cnnkit/data/dataset.hpp"

namespace cnnkit {

struct Normalization {
  // One value for every channel, or one per channel.
  std::vector<double> mean;
  std::vector<double> std;

  bool enabled() const { return !mean.empty() || !std.empty(); }
  bool operator==(const Normalization&) const = default;
};

// Throws std::invalid_argument naming the option ("normalize std: ...") unless mean and std each
// hold 1 or `channels` finite values and every std is above 0.
void validate(const Normalization& normalization, std::size_t channels);

// Normalises every sample of the data set in place (validate first, with the samples' channels).
template <typename T>
void normalize(Dataset<T>& dataset, const Normalization& normalization);

extern template void normalize<float>(Dataset<float>&, const Normalization&);
extern template void normalize<double>(Dataset<double>&, const Normalization&);

}  // namespace cnnkit
