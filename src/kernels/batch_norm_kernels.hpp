// The per-channel loops of BatchNorm (layers/batch_norm.cpp) on (batch, channels, spatial)
// data, element (n, c, s) at (n * channels + c) * spatial + s: one channel's M = batch * spatial
// values per call, so that the layer spreads the channels over the threads.
//
// The fast kernels sum in double into kPartials partial sums, element s of every plane into
// partial s mod kPartials, and add the partials pairwise at the end: independent chains that
// the compiler vectorises (a single running sum is one add latency per element), in an order
// written in the source, so every instruction set (AVX-512, AVX2, none) and every thread count
// gives the same bits. The element-wise loops compute exactly the reference's expression with
// no fused multiply-add (the file is built with -ffp-contract=off).
// The reference twins (batch_norm_reference.cpp) are the obvious loops, one running sum in
// memory order; tests/batch_norm_kernels_test.cpp holds the fast kernels to them.
#pragma once

#include <cstddef>

namespace cnnkit::kernels {

struct ChannelLayout {
  std::size_t batch, channels, spatial;

  std::size_t per_channel() const { return batch * spatial; }
  std::size_t plane(std::size_t n, std::size_t c) const { return (n * channels + c) * spatial; }
};

// Declared once for the fast kernels (namespace kernels) and their reference twins (namespace
// kernels::reference); each .cpp instantiates its own with CNNKIT_BATCH_NORM_KERNELS(float, template).
//   channel_sum:                sum of x over channel c
//   channel_centred_square_sum: sum of (x - mean)^2 over channel c
//   channel_affine:             y = factor * x + offset over channel c (T arithmetic; y may be x)
//   channel_error_sums:         backward's sums over channel c, error_sum = sum of e and
//                               error_x_hat_sum = sum of e (x - mean) inv_std
//   channel_input_error:        dx = k (e - mean_error - (x - mean) x_hat_weight) over channel c,
//                               in double, rounded to T (dx may be e)
#define CNNKIT_BATCH_NORM_KERNELS(T, prefix)                                                       \
  prefix double channel_sum(const T* x, const ChannelLayout& layout, std::size_t c);               \
  prefix double channel_centred_square_sum(const T* x, const ChannelLayout& layout, std::size_t c, \
                                           double mean);                                           \
  prefix void channel_affine(const T* x, T* y, const ChannelLayout& layout, std::size_t c,         \
                             T factor, T offset);                                                  \
  prefix void channel_error_sums(const T* x, const T* e, const ChannelLayout& layout,              \
                                 std::size_t c, double mean, double inv_std, double& error_sum,    \
                                 double& error_x_hat_sum);                                         \
  prefix void channel_input_error(const T* x, const T* e, T* dx, const ChannelLayout& layout,      \
                                  std::size_t c, double mean, double k, double mean_error,         \
                                  double x_hat_weight);

CNNKIT_BATCH_NORM_KERNELS(T, template <typename T>)

namespace reference {
CNNKIT_BATCH_NORM_KERNELS(T, template <typename T>)
}  // namespace reference

}  // namespace cnnkit::kernels
