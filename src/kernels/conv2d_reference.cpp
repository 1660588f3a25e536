// The definition of the convolution layer's arithmetic, written as plain loops over explicitly
// padded copies so that each line can be checked against the lecture ("Convolution layer",
// "Stride") and against PyTorch's conv2d (padding, dilation, groups). The fast kernels in
// conv2d.cpp are tested against these; speed does not matter here.
#include <cstddef>
#include <vector>

#include "kernels/conv2d.hpp"

namespace cnnkit::kernels {

namespace {

// A (N, C, Y, X) tensor copied into the middle of a zero (N, C, Y + pads, X + pads) one, with the
// geometry's padding before and after each axis.
template <typename T>
std::vector<T> zero_padded(const ConvGeometry& g, const T* tensor) {
  const std::size_t padded_y = g.in_y + g.pad_y_before() + g.pad_y_after();
  const std::size_t padded_x = g.in_x + g.pad_x_before() + g.pad_x_after();
  std::vector<T> padded(g.batch * g.channels * padded_y * padded_x, T(0));
  for (std::size_t plane = 0; plane < g.batch * g.channels; ++plane) {
    for (std::size_t i = 0; i < g.in_y; ++i) {
      for (std::size_t j = 0; j < g.in_x; ++j) {
        padded[(plane * padded_y + i + g.pad_y_before()) * padded_x + j + g.pad_x_before()] =
            tensor[(plane * g.in_y + i) * g.in_x + j];
      }
    }
  }
  return padded;
}

// Where tap (c, u, v) of output (i, j) reads in the padded copy of sample b; c counts all
// channels: c = group * C/groups + the kernel's own channel index.
struct PaddedIndex {
  const ConvGeometry& g;
  std::size_t padded_y = g.in_y + g.pad_y_before() + g.pad_y_after();
  std::size_t padded_x = g.in_x + g.pad_x_before() + g.pad_x_after();

  std::size_t operator()(std::size_t b, std::size_t c, std::size_t i, std::size_t u, std::size_t j,
                         std::size_t v) const {
    return ((b * g.channels + c) * padded_y + i * g.stride_y + u * g.dilation_y) * padded_x +
           j * g.stride_x + v * g.dilation_x;
  }
};

}  // namespace

template <typename T>
void conv2d_forward_reference(const ConvGeometry& g, const T* input, const T* weights,
                              const T* bias, T* output) {
  const std::vector<T> padded = zero_padded(g, input);
  const PaddedIndex at{g};
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  const std::size_t group_c = g.group_channels(), group_k = g.group_kernels();
  // Lecture: cross-correlation in the forward pass, "valid" across the channels of the kernel's
  // group (all channels with one group), one output map per kernel plus that kernel's scalar
  // bias. Stride = "convolution followed by subsampling": only positions i*sy, j*sx are
  // computed; dilation spreads the taps d apart.
  for (std::size_t b = 0; b < g.batch; ++b) {
    for (std::size_t k = 0; k < g.kernels; ++k) {
      const std::size_t first_channel = k / group_k * group_c;
      for (std::size_t i = 0; i < out_y; ++i) {
        for (std::size_t j = 0; j < out_x; ++j) {
          T sum = bias[k];
          for (std::size_t c = 0; c < group_c; ++c) {
            for (std::size_t u = 0; u < g.kernel_y; ++u) {
              for (std::size_t v = 0; v < g.kernel_x; ++v) {
                const T w = weights[((k * group_c + c) * g.kernel_y + u) * g.kernel_x + v];
                sum += w * padded[at(b, first_channel + c, i, u, j, v)];
              }
            }
          }
          output[((b * g.kernels + k) * out_y + i) * out_x + j] = sum;
        }
      }
    }
  }
}

template <typename T>
void conv2d_backward_reference(const ConvGeometry& g, const T* input, const T* weights,
                               const T* error, T* input_error, T* weight_gradient,
                               T* bias_gradient) {
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  const std::size_t group_c = g.group_channels(), group_k = g.group_kernels();
  const auto error_at = [&](std::size_t b, std::size_t k, std::size_t i, std::size_t j) {
    return error[((b * g.kernels + k) * out_y + i) * out_x + j];
  };

  // Bias gradient: "simply sums over E_n" (over the batch and both spatial axes).
  for (std::size_t k = 0; k < g.kernels; ++k) {
    T sum = 0;
    for (std::size_t b = 0; b < g.batch; ++b) {
      for (std::size_t p = 0; p < out_y * out_x; ++p)
        sum += error[(b * g.kernels + k) * out_y * out_x + p];
    }
    bias_gradient[k] = sum;
  }

  // Weight gradient: "correlate the channels H of E with those of X", X padded as in the
  // forward pass: dW[k,c,u,v] = sum_{b,i,j} X_padded[b, c, i*sy + u*dy, j*sx + v*dx] E[b,k,i,j].
  const std::vector<T> padded = zero_padded(g, input);
  const PaddedIndex at{g};
  for (std::size_t k = 0; k < g.kernels; ++k) {
    const std::size_t first_channel = k / group_k * group_c;
    for (std::size_t c = 0; c < group_c; ++c) {
      for (std::size_t u = 0; u < g.kernel_y; ++u) {
        for (std::size_t v = 0; v < g.kernel_x; ++v) {
          T sum = 0;
          for (std::size_t b = 0; b < g.batch; ++b) {
            for (std::size_t i = 0; i < out_y; ++i) {
              for (std::size_t j = 0; j < out_x; ++j) {
                sum += padded[at(b, first_channel + c, i, u, j, v)] * error_at(b, k, i, j);
              }
            }
          }
          weight_gradient[((k * group_c + c) * g.kernel_y + u) * g.kernel_x + v] = sum;
        }
      }
    }
  }

  if (input_error == nullptr) return;  // not wanted

  // Input error, the exact adjoint of the forward pass ("upsampling followed by transposed
  // convolution"): input pixel (y, x) of channel c receives W[k, c', u, v] * E[b, k, i, j] from
  // every kernel k of c's group and tap (u, v) for which the forward pass read it, i.e.
  //   i*sy + u*dy = y + pad_y_before   and   j*sx + v*dx = x + pad_x_before.
  const auto output_index = [](std::size_t position, std::size_t tap, std::size_t stride,
                               std::size_t out_length, std::size_t& index) {
    if (position < tap || (position - tap) % stride != 0) return false;
    index = (position - tap) / stride;
    return index < out_length;
  };
  for (std::size_t b = 0; b < g.batch; ++b) {
    for (std::size_t c = 0; c < g.channels; ++c) {
      const std::size_t first_kernel = c / group_c * group_k, own_channel = c % group_c;
      for (std::size_t y = 0; y < g.in_y; ++y) {
        for (std::size_t x = 0; x < g.in_x; ++x) {
          T sum = 0;
          for (std::size_t k = first_kernel; k < first_kernel + group_k; ++k) {
            for (std::size_t u = 0; u < g.kernel_y; ++u) {
              std::size_t i = 0;
              if (!output_index(y + g.pad_y_before(), u * g.dilation_y, g.stride_y, out_y, i))
                continue;
              for (std::size_t v = 0; v < g.kernel_x; ++v) {
                std::size_t j = 0;
                if (!output_index(x + g.pad_x_before(), v * g.dilation_x, g.stride_x, out_x, j))
                  continue;
                sum += weights[((k * group_c + own_channel) * g.kernel_y + u) * g.kernel_x + v] *
                       error_at(b, k, i, j);
              }
            }
          }
          input_error[((b * g.channels + c) * g.in_y + y) * g.in_x + x] = sum;
        }
      }
    }
  }
}

template void conv2d_forward_reference<float>(const ConvGeometry&, const float*, const float*,
                                              const float*, float*);
template void conv2d_forward_reference<double>(const ConvGeometry&, const double*, const double*,
                                               const double*, double*);
template void conv2d_backward_reference<float>(const ConvGeometry&, const float*, const float*,
                                               const float*, float*, float*, float*);
template void conv2d_backward_reference<double>(const ConvGeometry&, const double*, const double*,
                                                const double*, double*, double*, double*);

}  // namespace cnnkit::kernels
