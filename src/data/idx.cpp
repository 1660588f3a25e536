// IDX reader: header checks first, against the real size of the data, so that a corrupt header
// can never make us allocate or read more than the file holds.
#include "cnnkit/data/idx.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>

#include "check.hpp"
#include "data/gzip.hpp"
#include "io/file_bytes.hpp"

namespace cnnkit {
namespace {

constexpr unsigned char kUnsignedByte = 0x08;

// "IDX: 'path' byte 12" - the component part of every parse error.
std::string at_byte(const std::string& source, std::size_t offset) {
  return "IDX: '" + source + "' byte " + std::to_string(offset);
}

std::string hex_byte(unsigned value) {
  constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[(value >> 4) & 0xf] + kDigits[value & 0xf];
}

std::string type_name(unsigned char type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "short";
    case 0x0C:
      return "int";
    case 0x0D:
      return "float";
    case 0x0E:
      return "double";
    default:
      return "an unknown type";
  }
}

std::uint32_t read_big_endian_u32(const unsigned char* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

// The hint appended to "file not found" for the Debian Fashion-MNIST location.
std::string package_hint(const std::filesystem::path& path) {
  const std::filesystem::path normal = path.lexically_normal();
  const std::filesystem::path fashion(kFashionMnistDir);
  if (normal == fashion || normal.parent_path() == fashion) {
    return " (the Debian package dataset-fashion-mnist provides it: apt-get install "
           "dataset-fashion-mnist)";
  }
  return {};
}

// The product of the sizes, or nothing when it overflows (a zero size makes it 0 regardless).
std::optional<std::size_t> checked_count(const std::vector<std::size_t>& dims) {
  if (std::find(dims.begin(), dims.end(), 0) != dims.end()) return 0;
  std::size_t count = 1;
  for (const std::size_t dim : dims) {
    if (count > std::numeric_limits<std::size_t>::max() / dim) return std::nullopt;
    count *= dim;
  }
  return count;
}

// The header of an IDX array: its sizes, where its data starts and how many bytes it holds.
struct IdxHeader {
  std::vector<std::size_t> dims;
  std::size_t size = 0;   // bytes of the header
  std::size_t count = 0;  // bytes of data the sizes declare
};

// Reads and checks the header from the start of `data` (the data itself may be missing).
IdxHeader read_header(std::span<const unsigned char> data, const std::string& source) {
  if (data.size() < 4) {
    detail::fail(at_byte(source, 0), "a 4-byte IDX magic number",
                 "a file of " + std::to_string(data.size()) + " bytes");
  }
  if (data[0] != 0 || data[1] != 0) {
    detail::fail(at_byte(source, 0), "the IDX magic 0x00 0x00 <type> <rank>",
                 hex_byte(data[0]) + " " + hex_byte(data[1]) + " " + hex_byte(data[2]) + " " +
                     hex_byte(data[3]));
  }
  if (data[2] != kUnsignedByte) {
    detail::fail(at_byte(source, 2), "data type 0x08 (unsigned byte)",
                 hex_byte(data[2]) + " (" + type_name(data[2]) + ")");
  }
  const std::size_t rank = data[3];
  if (rank == 0) detail::fail(at_byte(source, 3), "at least one dimension", "0");
  IdxHeader header;
  header.size = 4 + 4 * rank;
  if (data.size() < header.size) {
    detail::fail(at_byte(source, data.size()),
                 std::to_string(rank) + " dimension sizes of 4 bytes each",
                 "the end of the file (truncated header)");
  }
  header.dims.resize(rank);
  for (std::size_t axis = 0; axis < rank; ++axis) {
    header.dims[axis] = read_big_endian_u32(data.data() + 4 + 4 * axis);
  }
  const std::optional<std::size_t> count = checked_count(header.dims);
  if (!count) {
    detail::fail(at_byte(source, 4), "dimension sizes whose product fits in memory",
                 to_string(header.dims) + ", whose product overflows");
  }
  header.count = *count;
  return header;
}

IdxArray parse_decompressed(std::span<const unsigned char> data, const std::string& source) {
  IdxHeader header = read_header(data, source);
  const std::size_t available = data.size() - header.size;
  if (header.count > available) {
    detail::fail(at_byte(source, data.size()),
                 std::to_string(header.count) + " data bytes for sizes " + to_string(header.dims),
                 std::to_string(available) + " (truncated data)");
  }
  if (header.count < available) {
    detail::fail(at_byte(source, header.size + header.count),
                 "the end of the file after " + std::to_string(header.count) +
                     " data bytes for sizes " + to_string(header.dims),
                 std::to_string(available - header.count) + " trailing bytes");
  }
  IdxArray array;
  array.dims = std::move(header.dims);
  array.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(header.size), data.end());
  return array;
}

// A gzip-compressed array: the header is inflated first, and the rest only up to the size the
// header declares (itself at most limits.file_bytes), so a small file cannot inflate to
// gigabytes; a stream that goes on is refused before its excess is inflated.
IdxArray parse_compressed(std::span<const unsigned char> bytes, const std::string& source,
                          const Limits& limits) {
  const std::string decompressed = source + " (decompressed)";
  constexpr std::size_t kLargestHeader = 4 + 4 * 255;
  const IdxHeader header =
      read_header(detail::gunzip_prefix(bytes, "IDX", source, kLargestHeader), decompressed);
  if (header.count > limits.file_bytes - std::min<std::uint64_t>(header.size, limits.file_bytes)) {
    detail::fail(at_byte(decompressed, 4),
                 "sizes of at most " + std::to_string(limits.file_bytes) + " bytes in all" +
                     limit_hint("CNNKIT_MAX_FILE_BYTES"),
                 to_string(header.dims));
  }
  const std::vector<unsigned char> data =
      detail::gunzip(bytes, "IDX", source, header.size + header.count,
                     " (the header and the " + std::to_string(header.count) +
                         " data bytes its sizes " + to_string(header.dims) + " declare)");
  return parse_decompressed(data, decompressed);
}

}  // namespace

std::vector<std::string> fashion_mnist_class_names() {
  return {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
}

IdxArray parse_idx(std::span<const unsigned char> bytes, const std::string& source,
                   const Limits& limits) {
  if (detail::is_gzip(bytes)) return parse_compressed(bytes, source, limits);
  return parse_decompressed(bytes, source);
}

IdxArray read_idx_file(const std::string& path, const Limits& limits) {
  const std::vector<unsigned char> bytes =
      detail::read_file_bytes(path, "IDX", limits.file_bytes, package_hint(path));
  return parse_idx(bytes, path, limits);
}

template <typename T>
Dataset<T> load_idx(const std::string& images_path, const std::string& labels_path,
                    std::vector<std::string> class_names, const Limits& limits) {
  return make_idx_dataset<T>(read_idx_file(images_path, limits), read_idx_file(labels_path, limits),
                             std::move(class_names), images_path, labels_path);
}

template <typename T>
Dataset<T> make_idx_dataset(const IdxArray& images, const IdxArray& labels,
                            std::vector<std::string> class_names, const std::string& images_path,
                            const std::string& labels_path) {
  // Arrays made by hand rather than by parse_idx must be as consistent as parsed ones.
  for (const auto* array : {&images, &labels}) {
    const std::optional<std::size_t> count = checked_count(array->dims);
    if (!count || *count != array->bytes.size()) {
      detail::fail("IDX: '" + (array == &images ? images_path : labels_path) + "'",
                   "as many bytes as the sizes " + to_string(array->dims) + " hold",
                   std::to_string(array->bytes.size()));
    }
  }
  if (images.dims.size() != 3) {
    detail::fail("IDX: '" + images_path + "'", "images of rank 3 (count, rows, cols)",
                 "sizes " + to_string(images.dims));
  }
  if (labels.dims.size() != 1) {
    detail::fail("IDX: '" + labels_path + "'", "labels of rank 1 (count)",
                 "sizes " + to_string(labels.dims));
  }
  const std::size_t count = images.dims[0];
  const std::size_t rows = images.dims[1];
  const std::size_t cols = images.dims[2];
  if (count == 0 || rows == 0 || cols == 0) {
    detail::fail("IDX: '" + images_path + "'", "at least one image of at least 1x1 pixels",
                 "sizes " + to_string(images.dims));
  }
  if (labels.dims[0] != count) {
    detail::fail("IDX: '" + labels_path + "'",
                 std::to_string(count) + " labels, one per image in '" + images_path + "'",
                 std::to_string(labels.dims[0]));
  }

  const std::size_t largest = *std::max_element(labels.bytes.begin(), labels.bytes.end());
  if (class_names.empty()) {
    for (std::size_t c = 0; c < std::max<std::size_t>(10, largest + 1); ++c) {
      class_names.push_back(std::to_string(c));
    }
  }
  Dataset<T> dataset;
  dataset.labels.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t label = labels.bytes[i];
    if (label >= class_names.size()) {
      detail::fail(at_byte(labels_path, 8 + i),
                   "a label < " + std::to_string(class_names.size()) + " (the number of classes)",
                   std::to_string(label));
    }
    dataset.labels.push_back(label);
  }
  dataset.class_names = std::move(class_names);
  dataset.inputs = Tensor<T>({count, 1, rows, cols});
  T* const pixels = dataset.inputs.data();
  for (std::size_t i = 0; i < images.bytes.size(); ++i) {
    pixels[i] = static_cast<T>(images.bytes[i]) / T(255);  // WORKLOADS.md: scale to [0, 1]
  }
  return dataset;
}

template <typename T>
std::pair<Dataset<T>, Dataset<T>> load_idx_directory(const std::string& dir,
                                                     std::vector<std::string> class_names,
                                                     const Limits& limits) {
  const std::filesystem::path folder(dir);
  const std::string hint = package_hint(folder);
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) {
    throw std::runtime_error("IDX: expected a directory of IDX files at '" + dir +
                             "', got no such directory" + hint);
  }
  // The .gz name when it exists, else the plain one; neither names both paths looked at.
  const auto find = [&](const std::string& stem) {
    const std::filesystem::path compressed = folder / (stem + ".gz");
    const std::filesystem::path plain = folder / stem;
    if (std::filesystem::exists(compressed, error)) return compressed.string();
    if (std::filesystem::exists(plain, error)) return plain.string();
    throw std::runtime_error("IDX: expected '" + compressed.string() + "' or '" + plain.string() +
                             "', got neither" + hint);
  };
  Dataset<T> train = load_idx<T>(find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte"),
                                 class_names, limits);
  Dataset<T> test = load_idx<T>(find("t10k-images-idx3-ubyte"), find("t10k-labels-idx1-ubyte"),
                                std::move(class_names), limits);
  // Both halves must agree on the classes (a test label past the training ones gets its name).
  if (train.class_names.size() < test.class_names.size()) train.class_names = test.class_names;
  if (test.class_names.size() < train.class_names.size()) test.class_names = train.class_names;
  return {std::move(train), std::move(test)};
}

template Dataset<float> load_idx<float>(const std::string&, const std::string&,
                                        std::vector<std::string>, const Limits&);
template Dataset<double> load_idx<double>(const std::string&, const std::string&,
                                          std::vector<std::string>, const Limits&);
template Dataset<float> make_idx_dataset<float>(const IdxArray&, const IdxArray&,
                                                std::vector<std::string>, const std::string&,
                                                const std::string&);
template Dataset<double> make_idx_dataset<double>(const IdxArray&, const IdxArray&,
                                                  std::vector<std::string>, const std::string&,
                                                  const std::string&);
template std::pair<Dataset<float>, Dataset<float>> load_idx_directory<float>(
    const std::string&, std::vector<std::string>, const Limits&);
template std::pair<Dataset<double>, Dataset<double>> load_idx_directory<double>(
    const std::string&, std::vector<std::string>, const Limits&);

}  // namespace cnnkit
