// IDX files: the format of MNIST, Fashion-MNIST and KMNIST (http://yann.lecun.com/exdb/mnist/).
// A file is a 4-byte magic (0, 0, data type, number of dimensions), one big-endian 32-bit size per
// dimension, then the values row-major. cnnkit reads the unsigned-byte type (0x08) those data sets
// use, plain or gzip-compressed (recognised by the gzip magic 1f 8b, not by the file name).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/data/dataset.hpp"
#include "cnnkit/limits.hpp"

namespace cnnkit {

// Where the Debian package `dataset-fashion-mnist` installs Fashion-MNIST.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Fashion-MNIST's ten classes, in label order: "T-shirt/top", "Trouser", ..., "Ankle boot".
std::vector<std::string> fashion_mnist_class_names();

// One parsed IDX array of unsigned bytes.
struct IdxArray {
  std::vector<std::size_t> dims;     // e.g. {60000, 28, 28} for images, {60000} for labels
  std::vector<unsigned char> bytes;  // product(dims) values, row-major
};

// Parses an IDX file held in memory (gzip-compressed or plain). `source` names it in errors.
// Throws std::invalid_argument naming the source, the byte offset and what was wrong: a bad
// magic, an unsupported data type, sizes whose product overflows, or data shorter or longer than
// the sizes say. Offsets count in the decompressed bytes for a gzip file. Nothing is allocated
// beyond what the data really holds, whatever the header claims: a gzip file is inflated only up
// to the size its header declares, which may be at most limits.file_bytes.
IdxArray parse_idx(std::span<const unsigned char> bytes, const std::string& source,
                   const Limits& limits = Limits::from_environment());

// Reads a file with parse_idx; a missing or unreadable file throws std::runtime_error naming the
// path (and, under kFashionMnistDir, the Debian package that provides it); one larger than
// limits.file_bytes is refused before it is read.
IdxArray read_idx_file(const std::string& path, const Limits& limits = Limits::from_environment());

// An images file (n, rows, cols) and its labels file (n) as a Dataset: inputs (n, 1, rows, cols)
// with pixels divided by 255, labels as stored. Without class names the
// classes are "0".."9", or "0".."max label" when a label exceeds 9. With class names, a label
// >= their count is an error. Also an error: image and label counts that differ, wrong ranks,
// zero images.
template <typename T>
Dataset<T> load_idx(const std::string& images_path, const std::string& labels_path,
                    std::vector<std::string> class_names = {},
                    const Limits& limits = Limits::from_environment());

// load_idx on arrays already parsed (the sources name them in errors).
template <typename T>
Dataset<T> make_idx_dataset(const IdxArray& images, const IdxArray& labels,
                            std::vector<std::string> class_names, const std::string& images_source,
                            const std::string& labels_source);

// (training set, test set) from the four files of the MNIST layout in `dir`:
// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
// t10k-labels-idx1-ubyte, each either with ".gz" (preferred when both exist) or without.
template <typename T>
std::pair<Dataset<T>, Dataset<T>> load_idx_directory(
    const std::string& dir, std::vector<std::string> class_names = {},
    const Limits& limits = Limits::from_environment());

extern template Dataset<float> load_idx<float>(const std::string&, const std::string&,
                                               std::vector<std::string>, const Limits&);
extern template Dataset<double> load_idx<double>(const std::string&, const std::string&,
                                                 std::vector<std::string>, const Limits&);
extern template Dataset<float> make_idx_dataset<float>(const IdxArray&, const IdxArray&,
                                                       std::vector<std::string>, const std::string&,
                                                       const std::string&);
extern template Dataset<double> make_idx_dataset<double>(const IdxArray&, const IdxArray&,
                                                         std::vector<std::string>,
                                                         const std::string&, const std::string&);
extern template std::pair<Dataset<float>, Dataset<float>> load_idx_directory<float>(
    const std::string&, std::vector<std::string>, const Limits&);
extern template std::pair<Dataset<double>, Dataset<double>> load_idx_directory<double>(
    const std::string&, std::vector<std::string>, const Limits&);

}  // namespace cnnkit
