#include "kernels/im2col.hpp"

#include <algorithm>
#include <cstddef>

namespace cnnkit::kernels {

namespace {

// Output indices o in [begin, end) whose input position o*stride + offset lies inside
// [0, in_length); all others read the zero padding. offset = kernel tap * dilation - padding
// before.
struct ValidRange {
  std::size_t begin;
  std::size_t end;
};

ValidRange valid_range(std::size_t out_length, std::size_t in_length, std::size_t stride,
                       std::ptrdiff_t offset) {
  const auto s = static_cast<std::ptrdiff_t>(stride);
  const auto last_input = static_cast<std::ptrdiff_t>(in_length) - 1;
  // First o with o*s + offset >= 0.
  const std::ptrdiff_t first = offset >= 0 ? 0 : (-offset + s - 1) / s;
  // One past the last o with o*s + offset <= last_input.
  const std::ptrdiff_t past_last = last_input - offset >= 0 ? (last_input - offset) / s + 1 : 0;
  const std::size_t end = std::min(out_length, static_cast<std::size_t>(past_last));
  const std::size_t begin = std::min(end, static_cast<std::size_t>(first));
  return {begin, end};
}

}  // namespace

template <typename T>
void im2col(const ConvGeometry& g, const T* image, T* columns) {
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  const auto pad_y = static_cast<std::ptrdiff_t>(g.pad_y_before());
  const auto pad_x = static_cast<std::ptrdiff_t>(g.pad_x_before());
  T* row = columns;
  for (std::size_t c = 0; c < g.channels; ++c) {
    const T* channel = image + c * g.in_y * g.in_x;
    for (std::size_t u = 0; u < g.kernel_y; ++u) {
      const std::ptrdiff_t offset_y = static_cast<std::ptrdiff_t>(u * g.dilation_y) - pad_y;
      const ValidRange rows_i = valid_range(out_y, g.in_y, g.stride_y, offset_y);
      for (std::size_t v = 0; v < g.kernel_x; ++v, row += out_y * out_x) {
        const std::ptrdiff_t offset_x = static_cast<std::ptrdiff_t>(v * g.dilation_x) - pad_x;
        const ValidRange cols_j = valid_range(out_x, g.in_x, g.stride_x, offset_x);
        std::fill(row, row + rows_i.begin * out_x, T(0));
        for (std::size_t i = rows_i.begin; i < rows_i.end; ++i) {
          const T* source = channel + static_cast<std::size_t>(
                                          static_cast<std::ptrdiff_t>(i * g.stride_y) + offset_y) *
                                          g.in_x;
          T* target = row + i * out_x;
          std::fill(target, target + cols_j.begin, T(0));
          for (std::size_t j = cols_j.begin; j < cols_j.end; ++j) {
            target[j] = source[static_cast<std::ptrdiff_t>(j * g.stride_x) + offset_x];
          }
          std::fill(target + cols_j.end, target + out_x, T(0));
        }
        std::fill(row + rows_i.end * out_x, row + out_y * out_x, T(0));
      }
    }
  }
}

template <typename T>
void col2im(const ConvGeometry& g, const T* columns, T* image) {
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  const auto pad_y = static_cast<std::ptrdiff_t>(g.pad_y_before());
  const auto pad_x = static_cast<std::ptrdiff_t>(g.pad_x_before());
  std::fill(image, image + g.channels * g.in_y * g.in_x, T(0));
  const T* row = columns;
  for (std::size_t c = 0; c < g.channels; ++c) {
    T* channel = image + c * g.in_y * g.in_x;
    for (std::size_t u = 0; u < g.kernel_y; ++u) {
      const std::ptrdiff_t offset_y = static_cast<std::ptrdiff_t>(u * g.dilation_y) - pad_y;
      const ValidRange rows_i = valid_range(out_y, g.in_y, g.stride_y, offset_y);
      for (std::size_t v = 0; v < g.kernel_x; ++v, row += out_y * out_x) {
        const std::ptrdiff_t offset_x = static_cast<std::ptrdiff_t>(v * g.dilation_x) - pad_x;
        const ValidRange cols_j = valid_range(out_x, g.in_x, g.stride_x, offset_x);
        for (std::size_t i = rows_i.begin; i < rows_i.end; ++i) {
          T* target = channel + static_cast<std::size_t>(
                                    static_cast<std::ptrdiff_t>(i * g.stride_y) + offset_y) *
                                    g.in_x;
          const T* source = row + i * out_x;
          for (std::size_t j = cols_j.begin; j < cols_j.end; ++j) {
            target[static_cast<std::ptrdiff_t>(j * g.stride_x) + offset_x] += source[j];
          }
        }
      }
    }
  }
}

template void im2col<float>(const ConvGeometry&, const float*, float*);
template void im2col<double>(const ConvGeometry&, const double*, double*);
template void col2im<float>(const ConvGeometry&, const float*, float*);
template void col2im<double>(const ConvGeometry&, const double*, double*);

}  // namespace cnnkit::kernels
