// The safetensors file format (https://github.com/huggingface/safetensors), cnnkit's model file:
//   8 bytes   N, the header length, unsigned little-endian
//   N bytes   a JSON object: {"__metadata__": {"key": "value", ...},
//                             "name": {"dtype": "F32", "shape": [6, 1, 5, 5],
//                                      "data_offsets": [begin, end]}, ...}
//             padded with spaces so that the data starts 8-byte aligned
//   the rest  every tensor's values, row-major, little-endian, at [begin, end) of this part
// Python's `safetensors` package (and so PyTorch) reads the files written here.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "cnnkit/limits.hpp"
#include "cnnkit/tensor.hpp"

namespace cnnkit {

template <typename T>
struct NamedTensor {
  std::string name;
  Tensor<T> tensor;
};

template <typename T>
struct SafetensorsFile {
  std::vector<NamedTensor<T>> tensors;  // in the order of their data in the file
  std::map<std::string, std::string> metadata;
  std::string source;  // where it was read from, for error messages

  bool contains(const std::string& name) const;
  // The tensor with this name; throws std::invalid_argument naming it, the source and the names
  // the file does have.
  const Tensor<T>& at(const std::string& name) const;
};

// The bytes of a safetensors file holding these tensors in this order (dtype F32 for float, F64
// for double) and this metadata. Names must be non-empty, distinct, not "__metadata__", and names
// and metadata valid UTF-8, else std::invalid_argument.
template <typename T>
std::string serialize_safetensors(const std::vector<NamedTensor<T>>& tensors,
                                  const std::map<std::string, std::string>& metadata = {});

// serialize_safetensors written with write_file_atomically: on any error the old file is intact.
template <typename T>
void save_safetensors(const std::string& path, const std::vector<NamedTensor<T>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Parses a safetensors file held in memory; `source` names it in errors. Tensors of dtype F32 or
// F64 are converted to T (an F64 value beyond float's range is an error when T is float). Checked,
// each failure a std::invalid_argument saying what was wrong: the header length against the size,
// the JSON syntax, duplicate names, each entry's dtype, shape and data_offsets, the shape's byte
// count against the offsets, and that the tensors' byte ranges are in order, neither overlap nor
// leave gaps, and cover the data exactly (as the Python reader requires); metadata values must be
// strings. Before the header is parsed its JSON nesting is checked against limits.json_depth, and
// repeated keys and more than limits.tensors tensors are refused, in O(n log n).
template <typename T>
SafetensorsFile<T> parse_safetensors(std::span<const unsigned char> bytes,
                                     const std::string& source,
                                     const Limits& limits = Limits::from_environment());

// parse_safetensors on a file; a missing or unreadable file throws std::runtime_error, one of more
// than limits.file_bytes std::invalid_argument before it is read.
template <typename T>
SafetensorsFile<T> load_safetensors(const std::string& path,
                                    const Limits& limits = Limits::from_environment());

extern template struct SafetensorsFile<float>;
extern template struct SafetensorsFile<double>;
extern template std::string serialize_safetensors<float>(const std::vector<NamedTensor<float>>&,
                                                         const std::map<std::string, std::string>&);
extern template std::string serialize_safetensors<double>(
    const std::vector<NamedTensor<double>>&, const std::map<std::string, std::string>&);
extern template void save_safetensors<float>(const std::string&,
                                             const std::vector<NamedTensor<float>>&,
                                             const std::map<std::string, std::string>&);
extern template void save_safetensors<double>(const std::string&,
                                              const std::vector<NamedTensor<double>>&,
                                              const std::map<std::string, std::string>&);
extern template SafetensorsFile<float> parse_safetensors<float>(std::span<const unsigned char>,
                                                                const std::string&, const Limits&);
extern template SafetensorsFile<double> parse_safetensors<double>(std::span<const unsigned char>,
                                                                  const std::string&,
                                                                  const Limits&);
extern template SafetensorsFile<float> load_safetensors<float>(const std::string&, const Limits&);
extern template SafetensorsFile<double> load_safetensors<double>(const std::string&, const Limits&);

}  // namespace cnnkit
