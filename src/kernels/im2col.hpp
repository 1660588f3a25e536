// im2col / col2im: the lowering behind the lecture's "Matrix implementation" of the convolution
// ("Convolution is a linear operator -> it has a matrix representation"). One sample at a time:
//   image   (C, Y, X)
//   columns (C*m*n, Y'*X'): row (c, u, v), column (i, j) holds
//           image_padded[c, i*sy + u*dy, j*sx + v*dx], zero where that position falls into the
//           padding (ConvGeometry).
// Both see every channel of `g` as one group: grouped convolutions call them per group with
// group_view(g).
// With this layout the forward pass is one matrix product, out(K, Y'X') = W(K, Cmn) * columns.
#pragma once

#include "kernels/conv_geometry.hpp"

namespace cnnkit::kernels {

// One group of `g` as a convolution of its own: C/groups channels, K/groups kernels.
inline ConvGeometry group_view(ConvGeometry g) {
  g.channels = g.group_channels();
  g.kernels = g.group_kernels();
  g.groups = 1;
  return g;
}

// Rows of the lowered matrix (C*m*n) and its columns (Y'*X').
inline std::size_t lowered_rows(const ConvGeometry& g) {
  return g.channels * g.kernel_y * g.kernel_x;
}
inline std::size_t lowered_cols(const ConvGeometry& g) {
  return g.out_y() * g.out_x();
}

// columns = lowering of one sample's image; every element of `columns` is written.
template <typename T>
void im2col(const ConvGeometry& g, const T* image, T* columns);

// The adjoint of im2col: image = sum of every column entry at the image position it was read
// from (entries that came from the padding are dropped). Every element of `image` is written.
// This is the scatter step of the backward pass: E_{n-1} = col2im(W^T E_n).
template <typename T>
void col2im(const ConvGeometry& g, const T* columns, T* image);

}  // namespace cnnkit::kernels
