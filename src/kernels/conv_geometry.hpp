// The one place that says how big a convolution's padding and output are; used by the Conv
// layer, its kernels and the tests alike. 1-D convolutions are 2-D ones with x = 1, n = 1.
#pragma once

#include <cstddef>

namespace cnnkit::kernels {

struct ConvGeometry {
  std::size_t batch;     // N
  std::size_t channels;  // C (c of the convolution shape)
  std::size_t in_y;      // Y
  std::size_t in_x;      // X (1 for 1-D)
  std::size_t kernels;   // K (num_kernels)
  std::size_t kernel_y;  // m
  std::size_t kernel_x;  // n (1 for 1-D)
  std::size_t stride_y;  // sy
  std::size_t stride_x;  // sx (1 for 1-D)

  // "same" zero padding: (k-1)/2 before and k/2 after each spatial axis.
  std::size_t pad_y_before() const { return (kernel_y - 1) / 2; }
  std::size_t pad_x_before() const { return (kernel_x - 1) / 2; }
  // Subsampling with the stride from index 0: ceil(Y / sy) by ceil(X / sx).
  std::size_t out_y() const { return (in_y + stride_y - 1) / stride_y; }
  std::size_t out_x() const { return (in_x + stride_x - 1) / stride_x; }

  std::size_t input_size() const { return batch * channels * in_y * in_x; }
  std::size_t output_size() const { return batch * kernels * out_y() * out_x(); }
  std::size_t weights_size() const { return kernels * channels * kernel_y * kernel_x; }
  // 2 * N*K*C*m*n*Y'*X': how docs/WORKLOADS.md counts a forward pass.
  std::size_t forward_flops() const {
    return 2 * batch * kernels * channels * kernel_y * kernel_x * out_y() * out_x();
  }
};

}  // namespace cnnkit::kernels
