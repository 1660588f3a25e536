// The definition of the convolution layer's arithmetic, written as plain loops over explicitly
// padded copies so that each line can be checked against the lecture ("Convolution layer",
// "Stride"). The fast kernels in conv2d.cpp are tested against these; speed does not matter here.
#include <cstddef>
#include <vector>

#include "kernels/conv2d.hpp"

namespace cnnkit::kernels {

namespace {

// A (N, C, Y, X) tensor copied into the middle of a zero (N, C, Y + before_y + after_y,
// X + before_x + after_x) one.
template <typename T>
std::vector<T> zero_padded(const T* tensor, std::size_t n, std::size_t c, std::size_t y,
                           std::size_t x, std::size_t before_y, std::size_t after_y,
                           std::size_t before_x, std::size_t after_x) {
  const std::size_t padded_y = y + before_y + after_y;
  const std::size_t padded_x = x + before_x + after_x;
  std::vector<T> padded(n * c * padded_y * padded_x, T(0));
  for (std::size_t plane = 0; plane < n * c; ++plane) {
    for (std::size_t i = 0; i < y; ++i) {
      for (std::size_t j = 0; j < x; ++j) {
        padded[(plane * padded_y + i + before_y) * padded_x + j + before_x] =
            tensor[(plane * y + i) * x + j];
      }
    }
  }
  return padded;
}

}  // namespace

template <typename T>
void conv2d_forward_reference(const ConvGeometry& g, const T* input, const T* weights,
                              const T* bias, T* output) {
  // "same" padding: (k-1)/2 zeros before and k/2 after each spatial axis.
  const std::size_t pad_y_after = g.kernel_y / 2, pad_x_after = g.kernel_x / 2;
  const std::vector<T> padded =
      zero_padded(input, g.batch, g.channels, g.in_y, g.in_x, g.pad_y_before(), pad_y_after,
                  g.pad_x_before(), pad_x_after);
  const std::size_t padded_y = g.in_y + g.kernel_y - 1, padded_x = g.in_x + g.kernel_x - 1;
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  // Lecture: cross-correlation in the forward pass, "valid" across channels (the kernel has as
  // many channels as the input), one output map per kernel plus that kernel's scalar bias.
  // Stride = "convolution followed by subsampling": only positions i*sy, j*sx are computed.
  for (std::size_t b = 0; b < g.batch; ++b) {
    for (std::size_t k = 0; k < g.kernels; ++k) {
      for (std::size_t i = 0; i < out_y; ++i) {
        for (std::size_t j = 0; j < out_x; ++j) {
          T sum = bias[k];
          for (std::size_t c = 0; c < g.channels; ++c) {
            for (std::size_t u = 0; u < g.kernel_y; ++u) {
              for (std::size_t v = 0; v < g.kernel_x; ++v) {
                const T w = weights[((k * g.channels + c) * g.kernel_y + u) * g.kernel_x + v];
                const T x =
                    padded[((b * g.channels + c) * padded_y + i * g.stride_y + u) * padded_x +
                           j * g.stride_x + v];
                sum += w * x;
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
  const std::size_t pad_y_after = g.kernel_y / 2, pad_x_after = g.kernel_x / 2;

  // Bias gradient: "simply sums over E_n" (over the batch and both spatial axes).
  for (std::size_t k = 0; k < g.kernels; ++k) {
    T sum = 0;
    for (std::size_t b = 0; b < g.batch; ++b) {
      for (std::size_t p = 0; p < out_y * out_x; ++p)
        sum += error[(b * g.kernels + k) * out_y * out_x + p];
    }
    bias_gradient[k] = sum;
  }

  // Stride in the backward pass: "upsampling followed by transposed convolution". Put E back
  // on the full-resolution grid (zeros where the forward pass skipped a position).
  std::vector<T> upsampled(g.batch * g.kernels * g.in_y * g.in_x, T(0));
  for (std::size_t bk = 0; bk < g.batch * g.kernels; ++bk) {
    for (std::size_t i = 0; i < out_y; ++i) {
      for (std::size_t j = 0; j < out_x; ++j) {
        upsampled[(bk * g.in_y + i * g.stride_y) * g.in_x + j * g.stride_x] =
            error[(bk * out_y + i) * out_x + j];
      }
    }
  }

  // Weight gradient: "correlate the channels H of E with those of X", X padded as in the
  // forward pass: dW[k,c,u,v] = sum_{b,y,x} X_padded[b,c,y+u,x+v] * E_up[b,k,y,x].
  const std::vector<T> input_padded =
      zero_padded(input, g.batch, g.channels, g.in_y, g.in_x, g.pad_y_before(), pad_y_after,
                  g.pad_x_before(), pad_x_after);
  const std::size_t padded_y = g.in_y + g.kernel_y - 1, padded_x = g.in_x + g.kernel_x - 1;
  for (std::size_t k = 0; k < g.kernels; ++k) {
    for (std::size_t c = 0; c < g.channels; ++c) {
      for (std::size_t u = 0; u < g.kernel_y; ++u) {
        for (std::size_t v = 0; v < g.kernel_x; ++v) {
          T sum = 0;
          for (std::size_t b = 0; b < g.batch; ++b) {
            for (std::size_t y = 0; y < g.in_y; ++y) {
              for (std::size_t x = 0; x < g.in_x; ++x) {
                sum += input_padded[((b * g.channels + c) * padded_y + y + u) * padded_x + x + v] *
                       upsampled[((b * g.kernels + k) * g.in_y + y) * g.in_x + x];
              }
            }
          }
          weight_gradient[((k * g.channels + c) * g.kernel_y + u) * g.kernel_x + v] = sum;
        }
      }
    }
  }

  if (input_error == nullptr) return;  // not wanted

  // Input error: a correlation of the upsampled E with S = C new kernels, made by "combining
  // the channels of the H kernels" (kernel c takes channel c of every forward kernel k) and
  // flipping them spatially (rotated 180 degrees) -- equivalently a true convolution with the
  // unflipped kernels, the lecture's "CC in the forward and convolution in the backward pass".
  // The padding swaps sides: k/2 before and (k-1)/2 after, so that
  //   E_{n-1}[c,y,x] = sum_{k,u,v} W[k,c,u,v] * E_up[k, y+pad_before-u, x+pad_before-v],
  // the exact adjoint of the forward pass.
  const std::vector<T> error_padded =
      zero_padded(upsampled.data(), g.batch, g.kernels, g.in_y, g.in_x, pad_y_after,
                  g.pad_y_before(), pad_x_after, g.pad_x_before());
  for (std::size_t b = 0; b < g.batch; ++b) {
    for (std::size_t c = 0; c < g.channels; ++c) {
      for (std::size_t y = 0; y < g.in_y; ++y) {
        for (std::size_t x = 0; x < g.in_x; ++x) {
          T sum = 0;
          for (std::size_t k = 0; k < g.kernels; ++k) {
            for (std::size_t u = 0; u < g.kernel_y; ++u) {
              for (std::size_t v = 0; v < g.kernel_x; ++v) {
                // Backward kernel c, channel k, tap (u, v) = forward W[k, c, m-1-u, n-1-v].
                const T flipped =
                    weights[((k * g.channels + c) * g.kernel_y + (g.kernel_y - 1 - u)) *
                                g.kernel_x +
                            (g.kernel_x - 1 - v)];
                sum += flipped *
                       error_padded[((b * g.kernels + k) * padded_y + y + u) * padded_x + x + v];
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
