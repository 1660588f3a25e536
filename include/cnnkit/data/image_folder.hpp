// Pictures as data: single image files (for `cnnkit predict`) and a folder of images with one
// sub-folder per class (for training). Decoding is stb_image's (PNG, JPEG, BMP, GIF, TGA, PNM).
#pragma once

#include <span>
#include <string>

#include "cnnkit/data/dataset.hpp"
#include "cnnkit/limits.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

// Decodes an image held in memory and converts it to sample_shape = {channels, height, width}:
// channels 1 gives grey by luminance (stb's 0.299 R + 0.587 G + 0.114 B in 8-bit fixed point),
// 3 gives RGB (a grey image is repeated, alpha is dropped); the size is changed with a bilinear
// filter (widened when shrinking, so that every source pixel counts: no aliasing); pixels are
// divided by 255. Returns (channels, height, width). A bad sample_shape, or data stb cannot
// decode, throws std::invalid_argument naming `source` and stb's reason; so does an image of more
// than limits.image_pixels pixels, judged from its header before anything is decoded.
template <typename T>
Tensor<T> decode_image(std::span<const unsigned char> bytes, const std::string& source,
                       const Shape& sample_shape,
                       const Limits& limits = Limits::from_environment());

// decode_image on a file; a missing or unreadable file throws std::runtime_error naming it, and
// one of more than limits.file_bytes is refused before it is read.
template <typename T>
Tensor<T> load_image(const std::string& path, const Shape& sample_shape,
                     const Limits& limits = Limits::from_environment());

// Every image under dir/<class>/ as a Dataset with inputs (count, channels, height, width): the
// classes are the sub-folders in sorted (byte-wise) order, their names the class names; in each,
// the files ending .png, .jpg, .jpeg, .bmp, .gif, .tga, .ppm or .pgm (any case) are taken in
// sorted order and other files are ignored, as are hidden entries (".name") and files directly in
// dir. A missing dir, no class folder, or a class folder without images throws
// std::runtime_error; an image that cannot be decoded throws as load_image does.
template <typename T>
Dataset<T> load_image_folder(const std::string& dir, const Shape& sample_shape,
                             const Limits& limits = Limits::from_environment());

extern template Tensor<float> decode_image<float>(std::span<const unsigned char>,
                                                  const std::string&, const Shape&, const Limits&);
extern template Tensor<double> decode_image<double>(std::span<const unsigned char>,
                                                    const std::string&, const Shape&,
                                                    const Limits&);
extern template Tensor<float> load_image<float>(const std::string&, const Shape&, const Limits&);
extern template Tensor<double> load_image<double>(const std::string&, const Shape&, const Limits&);
extern template Dataset<float> load_image_folder<float>(const std::string&, const Shape&,
                                                        const Limits&);
extern template Dataset<double> load_image_folder<double>(const std::string&, const Shape&,
                                                          const Limits&);

}  // namespace cnnkit
