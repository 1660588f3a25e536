#include "data/image_resize.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace cnnkit::detail {
namespace {

// The source pixels one output coordinate reads, and their weights (summing to 1).
struct Taps {
  std::size_t first = 0;
  std::vector<double> weights;
};

// Taps for every output coordinate along one axis of in_size -> out_size pixels.
std::vector<Taps> compute_taps(std::size_t in_size, std::size_t out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double support = std::max(scale, 1.0);  // half-width of the tent, in source pixels
  std::vector<Taps> taps(out_size);
  for (std::size_t o = 0; o < out_size; ++o) {
    // Centre of output pixel o in source coordinates (pixel i spans [i, i + 1)).
    const double centre = (static_cast<double>(o) + 0.5) * scale;
    const auto low = static_cast<std::ptrdiff_t>(std::floor(centre - support));
    const auto high = static_cast<std::ptrdiff_t>(std::ceil(centre + support));
    const std::ptrdiff_t first = std::max<std::ptrdiff_t>(low, 0);
    const std::ptrdiff_t last =
        std::min<std::ptrdiff_t>(high, static_cast<std::ptrdiff_t>(in_size));
    Taps& tap = taps[o];
    tap.first = static_cast<std::size_t>(first);
    double total = 0;
    for (std::ptrdiff_t i = first; i < last; ++i) {
      const double distance = std::abs(static_cast<double>(i) + 0.5 - centre) / support;
      const double weight = std::max(0.0, 1.0 - distance);
      tap.weights.push_back(weight);
      total += weight;
    }
    for (double& weight : tap.weights) weight /= total;  // total > 0: the nearest pixel is inside
  }
  return taps;
}

}  // namespace

template <typename T>
void resize_bilinear(const T* input, std::size_t channels, std::size_t in_height,
                     std::size_t in_width, T* output, std::size_t out_height,
                     std::size_t out_width) {
  const std::vector<Taps> across = compute_taps(in_width, out_width);
  const std::vector<Taps> down = compute_taps(in_height, out_height);
  // Separable: rows first into (in_height, out_width), then columns.
  std::vector<double> rows(in_height * out_width);
  for (std::size_t c = 0; c < channels; ++c) {
    const T* const plane = input + c * in_height * in_width;
    for (std::size_t y = 0; y < in_height; ++y) {
      for (std::size_t x = 0; x < out_width; ++x) {
        double sum = 0;
        for (std::size_t k = 0; k < across[x].weights.size(); ++k) {
          sum +=
              across[x].weights[k] * static_cast<double>(plane[y * in_width + across[x].first + k]);
        }
        rows[y * out_width + x] = sum;
      }
    }
    T* const out_plane = output + c * out_height * out_width;
    for (std::size_t y = 0; y < out_height; ++y) {
      for (std::size_t x = 0; x < out_width; ++x) {
        double sum = 0;
        for (std::size_t k = 0; k < down[y].weights.size(); ++k) {
          sum += down[y].weights[k] * rows[(down[y].first + k) * out_width + x];
        }
        out_plane[y * out_width + x] = static_cast<T>(sum);
      }
    }
  }
}

template void resize_bilinear<float>(const float*, std::size_t, std::size_t, std::size_t, float*,
                                     std::size_t, std::size_t);
template void resize_bilinear<double>(const double*, std::size_t, std::size_t, std::size_t, double*,
                                      std::size_t, std::size_t);

}  // namespace cnnkit::detail
