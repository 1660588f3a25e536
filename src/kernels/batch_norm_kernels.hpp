// The loops of BatchNorm (layers/batch_norm.cpp) on (batch, channels, spatial) data: plane
// p = n * channels + c holds the `spatial` values of sample n in channel c at p * spatial. Each
// call runs over the planes [begin, end) in memory order (the layer hands the threads contiguous
// ranges), with per-channel coefficients, and the sums come out per plane: the layer adds a
// channel's plane sums in the order of the samples, so the split among threads changes nothing.
//
// The fast kernels sum a plane in double into kPartials partial sums, value s into partial
// s mod kPartials, and add the partials pairwise at the end: independent chains, held in vector
// registers of four doubles (the compiler left the partials of this order in scalar registers),
// in an order written in the source, so every instruction set (AVX-512, AVX2, none) gives the
// same bits. The element-wise loops compute exactly the reference's expression with no fused
// multiply-add (the files are built with -ffp-contract=off). The reference twins
// (batch_norm_reference.cpp) are the obvious loops, one running sum per plane;
// tests/batch_norm_kernels_test.cpp holds the fast kernels to them.
//
// A ReLU after the BatchNorm runs inside these loops when the layer is told so (fused_relu):
// the output is max(0, factor[c] x + offset[c]), and the error that comes back passes only where
// factor[c] x + offset[c] > 0, ReLU's mask recomputed from x with the very same expression, so
// the mask is the unfused ReLU's to the bit and nothing is kept for it.
#pragma once

#include <cstddef>

namespace cnnkit::kernels {

struct PlaneRange {
  std::size_t channels, spatial;  // the layout
  std::size_t begin, end;         // the planes to run over
};

// The fused ReLU's gate: null factor for none.
template <typename T>
struct ReluGate {
  const T* factor = nullptr;
  const T* offset = nullptr;
};

// Declared once for the fast kernels (namespace kernels) and their reference twins (namespace
// kernels::reference); each .cpp instantiates its own with
// CNNKIT_BATCH_NORM_KERNELS(float, template). With a gate, e below stands for the gated error
// (e where gate.factor[c] x + gate.offset[c] > 0, else 0).
//   shifted_sums: per plane p of channel c, with d = x - shift[c]:
//                 sums[2p] = sum of d, sums[2p + 1] = sum of d^2
//   error_sums:   per plane p of channel c: sums[2p] = sum of e,
//                 sums[2p + 1] = sum of e (x - mean[c])
//   affine:       y = factor[c] * x + offset[c] (T arithmetic; y may be x), with `rectify`
//                 y = max(0, that) (the fused ReLU)
//   input_error:  dx = k[c] (e - mean_error[c] - (x - mean[c]) x_hat_weight[c]) in double,
//                 rounded to T (dx may be e)
#define CNNKIT_BATCH_NORM_KERNELS(T, prefix)                                                  \
  prefix void shifted_sums(const T* x, const double* shift, const PlaneRange& range,          \
                           double* sums);                                                     \
  prefix void error_sums(const T* x, const T* e, const double* mean, const ReluGate<T>& gate, \
                         const PlaneRange& range, double* sums);                              \
  prefix void affine(const T* x, T* y, const T* factor, const T* offset, bool rectify,        \
                     const PlaneRange& range);                                                \
  prefix void input_error(const T* x, const T* e, T* dx, const double* mean, const double* k, \
                          const double* mean_error, const double* x_hat_weight,               \
                          const ReluGate<T>& gate, const PlaneRange& range);

CNNKIT_BATCH_NORM_KERNELS(T, template <typename T>)

namespace reference {
CNNKIT_BATCH_NORM_KERNELS(T, template <typename T>)
}  // namespace reference

}  // namespace cnnkit::kernels
