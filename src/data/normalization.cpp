// Normalization of normalization.hpp: x <- (x - mean[c]) / std[c], channel c = a sample's axis 0.
#include "cnnkit/data/normalization.hpp"

#include <cmath>
#include <string>

#include "check.hpp"

namespace cnnkit {

namespace {

void check_values(const std::vector<double>& values, std::size_t channels, const char* component,
                  bool positive) {
  detail::require(values.size() == 1 || values.size() == channels, component,
                  "1 value or one per channel (" + std::to_string(channels) + ")",
                  std::to_string(values.size()) + " values");
  for (std::size_t c = 0; c < values.size(); ++c) {
    const double value = values[c];
    const bool ok = std::isfinite(value) && (!positive || value > 0.0);
    detail::require(ok, component, positive ? "finite values above 0" : "finite values",
                    detail::format_number(value) + " for channel " + std::to_string(c));
  }
}

}  // namespace

void validate(const Normalization& normalization, std::size_t channels) {
  check_values(normalization.mean, channels, "normalize mean", false);
  check_values(normalization.std, channels, "normalize std", true);
}

template <typename T>
void normalize(Dataset<T>& dataset, const Normalization& normalization) {
  const Shape sample = dataset.sample_shape();
  detail::require(!sample.empty() && sample[0] > 0, "normalize",
                  "samples of rank 1 or more with channels", sample);
  const std::size_t channels = sample[0];
  validate(normalization, channels);
  const std::size_t plane = element_count(sample) / channels;  // values per channel
  T* value = dataset.inputs.data();
  for (std::size_t n = 0; n < dataset.inputs.dim(0); ++n) {
    for (std::size_t c = 0; c < channels; ++c) {
      const double mean = normalization.mean[normalization.mean.size() == 1 ? 0 : c];
      const double std = normalization.std[normalization.std.size() == 1 ? 0 : c];
      for (std::size_t i = 0; i < plane; ++i, ++value) {
        *value = static_cast<T>((static_cast<double>(*value) - mean) / std);
      }
    }
  }
}

template void normalize<float>(Dataset<float>&, const Normalization&);
template void normalize<double>(Dataset<double>&, const Normalization&);

}  // namespace cnnkit
