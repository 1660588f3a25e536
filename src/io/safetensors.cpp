// safetensors reader and writer. The reader trusts nothing: every number in the header is checked
// against the bytes really present before anything is allocated or read.
#include "cnnkit/io/safetensors.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <stdexcept>
#include <type_traits>

#include "check.hpp"
#include "cnnkit/io/atomic_file.hpp"
#include "io/file_bytes.hpp"
#include "io/json_structure.hpp"

namespace cnnkit {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kMetadataKey = "__metadata__";
// The Python reader refuses larger headers too; it also bounds what a corrupt length can cost.
constexpr std::uint64_t kMaxHeaderSize = 100'000'000;
constexpr std::size_t kAlignment = 8;  // the data starts 8-byte aligned, as Python writes it

template <typename T>
constexpr std::string_view dtype_of() {
  return std::is_same_v<T, float> ? "F32" : "F64";
}

std::size_t dtype_size(std::string_view dtype) {
  return dtype == "F32" ? 4 : 8;
}

std::string component_for(const std::string& source) {
  return "safetensors: '" + source + "'";
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; keep what follows.
std::string without_prefix(const char* message) {
  const std::string_view text(message);
  const std::size_t end = text.find("] ");
  return std::string(end == std::string_view::npos ? text : text.substr(end + 2));
}

// A JSON value as error messages show it: cut short when long.
std::string shown(const Json& value) {
  constexpr std::size_t kShown = 60;
  const std::string text = value.dump();
  return text.size() <= kShown ? text : text.substr(0, kShown) + "...";
}

// One tensor entry of the header, checked.
struct Entry {
  std::string name;
  std::string dtype;
  Shape shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

class HeaderReader {
 public:
  HeaderReader(const std::string& source, const Limits& limits)
      : component_(component_for(source)), limits_(limits) {}

  [[noreturn]] void fail(std::string_view expected, std::string_view got) const {
    detail::fail(component_, expected, got);
  }

  Json parse(std::string_view text) const {
    if (text.empty() || text.front() != '{') {
      fail("a header starting with '{'",
           text.empty() ? "an empty header" : "'" + std::string(text.substr(0, 1)) + "'");
    }
    // nlohmann keeps the last of duplicate keys silently and its dump() recurses: the structure
    // is checked first, in O(n log n) (nlohmann's own parser callback rescans the whole object
    // at the end of every entry, which is quadratic), and with at most one key for each tensor
    // plus __metadata__.
    detail::check_json_structure(
        text, component_,
        {.depth = limits_.json_depth,
         .top_level_keys = limits_.tensors == std::numeric_limits<std::uint64_t>::max()
                               ? limits_.tensors
                               : limits_.tensors + 1,
         .top_level_count_what = "keys (tensors and __metadata__)",
         .top_level_variable = "CNNKIT_MAX_TENSORS",
         .top_level_key_name = "tensor names"});
    try {
      return Json::parse(text);
    } catch (const Json::parse_error& error) {
      fail("a JSON header", "a syntax error at header byte " + std::to_string(error.byte) + ": " +
                                without_prefix(error.what()));
    } catch (const Json::exception& error) {
      // Also raised while parsing: out_of_range for a number too large for a double (1E400).
      fail("a JSON header", without_prefix(error.what()));
    }
  }

  std::uint64_t unsigned_number(const Json& value, const std::string& what) const {
    if (!value.is_number_unsigned()) fail(what + " as a non-negative integer", shown(value));
    return value.get<std::uint64_t>();
  }

  Entry entry(const std::string& name, const Json& value) const {
    if (name.empty()) fail("non-empty tensor names", "\"\"");
    const std::string where = "tensor '" + name + "'";
    if (!value.is_object()) fail(where + " as an object", shown(value));
    for (const auto& [key, ignored] : value.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets") {
        fail(where + " with keys dtype, shape and data_offsets", "key '" + key + "'");
      }
    }
    if (!value.contains("dtype") || !value.contains("shape") || !value.contains("data_offsets")) {
      fail(where + " with keys dtype, shape and data_offsets", shown(value));
    }
    Entry entry;
    entry.name = name;
    const Json& dtype = value["dtype"];
    if (!dtype.is_string() || (dtype != "F32" && dtype != "F64")) {
      fail(where + " of dtype F32 or F64 (the ones cnnkit reads)", shown(dtype));
    }
    entry.dtype = dtype.get<std::string>();

    const Json& shape = value["shape"];
    if (!shape.is_array()) fail(where + " with a shape array", shown(shape));
    // Element count; a zero size makes it 0 even when the others overflow.
    std::uint64_t count = 1;
    bool overflow = false;
    bool has_zero = false;
    for (const Json& dim : shape) {
      const std::uint64_t size = unsigned_number(dim, where + " shape entry");
      if constexpr (sizeof(std::size_t) < sizeof(std::uint64_t)) {
        if (size > std::numeric_limits<std::size_t>::max()) fail(where + " size", shown(dim));
      }
      entry.shape.push_back(static_cast<std::size_t>(size));
      if (size == 0) {
        has_zero = true;
      } else if (count > std::numeric_limits<std::uint64_t>::max() / size) {
        overflow = true;
      } else if (!overflow) {
        count *= size;
      }
    }
    if (has_zero) {
      count = 0;
      overflow = false;
    }
    const std::size_t element_size = dtype_size(entry.dtype);
    if (overflow || count > std::numeric_limits<std::uint64_t>::max() / element_size) {
      fail(where + " with a shape whose byte count fits in 64 bits", to_string(entry.shape));
    }

    const Json& offsets = value["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
      fail(where + " data_offsets [begin, end]", shown(offsets));
    }
    entry.begin = unsigned_number(offsets[0], where + " data_offsets begin");
    entry.end = unsigned_number(offsets[1], where + " data_offsets end");
    if (entry.begin > entry.end) {
      fail(where + " data_offsets with begin <= end", shown(offsets));
    }
    const std::uint64_t bytes = count * element_size;
    if (entry.end - entry.begin != bytes) {
      fail(where + " data_offsets spanning " + std::to_string(bytes) + " bytes for " + entry.dtype +
               " shape " + to_string(entry.shape),
           shown(offsets) + ", " + std::to_string(entry.end - entry.begin) + " bytes");
    }
    return entry;
  }

  std::map<std::string, std::string> metadata(const Json& value) const {
    if (!value.is_object()) fail("__metadata__ as an object of strings", shown(value));
    std::map<std::string, std::string> result;
    for (const auto& [key, text] : value.items()) {
      if (!text.is_string()) fail("__metadata__ value of '" + key + "' as a string", shown(text));
      result.emplace(key, text.get<std::string>());
    }
    return result;
  }

 private:
  std::string component_;
  const Limits& limits_;
};

std::string format_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

std::uint64_t read_little_endian(const unsigned char* bytes, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = size; i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

template <typename T>
void append_little_endian(std::string& out, T value) {
  using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const auto bits = std::bit_cast<Bits>(value);
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
}

// The tensor's values from its byte range, converted from the file's dtype to T.
template <typename T>
Tensor<T> read_tensor(const Entry& entry, const unsigned char* data, const std::string& source) {
  Tensor<T> tensor(entry.shape);
  const unsigned char* const begin = data + entry.begin;
  if (entry.dtype == "F32") {
    for (std::size_t i = 0; i < tensor.size(); ++i) {
      const auto bits = static_cast<std::uint32_t>(read_little_endian(begin + 4 * i, 4));
      tensor[i] = static_cast<T>(std::bit_cast<float>(bits));
    }
    return tensor;
  }
  for (std::size_t i = 0; i < tensor.size(); ++i) {
    const double value = std::bit_cast<double>(read_little_endian(begin + 8 * i, 8));
    // Narrowing a finite double beyond float's range is undefined behaviour: refuse it.
    if constexpr (std::is_same_v<T, float>) {
      if (std::isfinite(value) && std::abs(value) > std::numeric_limits<float>::max()) {
        detail::fail(component_for(source),
                     "tensor '" + entry.name + "' values within float's range",
                     format_number(value) + " at element " + std::to_string(i));
      }
    }
    tensor[i] = static_cast<T>(value);
  }
  return tensor;
}

}  // namespace

template <typename T>
bool SafetensorsFile<T>::contains(const std::string& name) const {
  return std::any_of(tensors.begin(), tensors.end(),
                     [&](const NamedTensor<T>& named) { return named.name == name; });
}

template <typename T>
const Tensor<T>& SafetensorsFile<T>::at(const std::string& name) const {
  for (const NamedTensor<T>& named : tensors) {
    if (named.name == name) return named.tensor;
  }
  std::string names;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (i == 20) {
      names += ", ... (" + std::to_string(tensors.size()) + " in all)";
      break;
    }
    names += (i == 0 ? "'" : ", '") + tensors[i].name + "'";
  }
  detail::fail(component_for(source), "a tensor named '" + name + "'",
               tensors.empty() ? "no tensors" : "only " + names);
}

template <typename T>
std::string serialize_safetensors(const std::vector<NamedTensor<T>>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  // ordered_json keeps the tensors in the given order (plain json would sort the names).
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::set<std::string_view> names;
  std::uint64_t offset = 0;
  for (const NamedTensor<T>& named : tensors) {
    detail::require(!named.name.empty() && named.name != kMetadataKey, "save_safetensors",
                    "a non-empty tensor name other than __metadata__", "'" + named.name + "'");
    detail::require(names.insert(named.name).second, "save_safetensors", "distinct tensor names",
                    "'" + named.name + "' twice");
    const std::uint64_t end = offset + named.tensor.size() * sizeof(T);
    header[named.name] = {{"dtype", std::string(dtype_of<T>())},
                          {"shape", named.tensor.shape()},
                          {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::exception& error) {
    detail::fail("save_safetensors", "tensor names and metadata in valid UTF-8",
                 without_prefix(error.what()));
  }
  text.resize((text.size() + kAlignment - 1) / kAlignment * kAlignment, ' ');

  std::string bytes;
  bytes.reserve(8 + text.size() + offset);
  append_little_endian(bytes, static_cast<std::uint64_t>(text.size()));
  bytes += text;
  for (const NamedTensor<T>& named : tensors) {
    for (const T value : named.tensor) append_little_endian(bytes, value);
  }
  return bytes;
}

template <typename T>
void save_safetensors(const std::string& path, const std::vector<NamedTensor<T>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, serialize_safetensors(tensors, metadata));
}

template <typename T>
SafetensorsFile<T> parse_safetensors(std::span<const unsigned char> bytes,
                                     const std::string& source, const Limits& limits) {
  const HeaderReader reader(source, limits);
  if (bytes.size() < 8) {
    reader.fail("an 8-byte header length", "a file of " + std::to_string(bytes.size()) + " bytes");
  }
  const std::uint64_t header_size = read_little_endian(bytes.data(), 8);
  if (header_size > kMaxHeaderSize || header_size > bytes.size() - 8) {
    reader.fail("a header length of at most " +
                    std::to_string(std::min<std::uint64_t>(kMaxHeaderSize, bytes.size() - 8)) +
                    " bytes (the rest of the file)",
                std::to_string(header_size));
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()) + 8,
                              static_cast<std::size_t>(header_size));
  const Json header = reader.parse(text);
  if (!header.is_object()) reader.fail("a JSON object as header", header.type_name());

  SafetensorsFile<T> file;
  file.source = source;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      file.metadata = reader.metadata(value);
    } else {
      entries.push_back(reader.entry(key, value));
    }
  }
  if (entries.size() > limits.tensors) {
    reader.fail(
        "at most " + std::to_string(limits.tensors) + " tensors" + limit_hint("CNNKIT_MAX_TENSORS"),
        std::to_string(entries.size()));
  }

  // The byte ranges, in order, must tile the data exactly.
  const std::uint64_t data_size = bytes.size() - 8 - header_size;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t expected_begin = 0;
  for (const Entry& entry : entries) {
    if (entry.begin != expected_begin) {
      reader.fail("tensor '" + entry.name + "' to start at data byte " +
                      std::to_string(expected_begin) + " (ranges in order, no gap, no overlap)",
                  std::to_string(entry.begin));
    }
    expected_begin = entry.end;
  }
  if (expected_begin != data_size) {
    reader.fail("tensors covering all " + std::to_string(data_size) + " data bytes",
                std::to_string(expected_begin) + " bytes covered");
  }

  const unsigned char* const data = bytes.data() + 8 + header_size;
  file.tensors.reserve(entries.size());
  for (const Entry& entry : entries) {
    file.tensors.push_back({entry.name, read_tensor<T>(entry, data, source)});
  }
  return file;
}

template <typename T>
SafetensorsFile<T> load_safetensors(const std::string& path, const Limits& limits) {
  return parse_safetensors<T>(detail::read_file_bytes(path, "safetensors", limits.file_bytes), path,
                              limits);
}

template struct SafetensorsFile<float>;
template struct SafetensorsFile<double>;
template std::string serialize_safetensors<float>(const std::vector<NamedTensor<float>>&,
                                                  const std::map<std::string, std::string>&);
template std::string serialize_safetensors<double>(const std::vector<NamedTensor<double>>&,
                                                   const std::map<std::string, std::string>&);
template void save_safetensors<float>(const std::string&, const std::vector<NamedTensor<float>>&,
                                      const std::map<std::string, std::string>&);
template void save_safetensors<double>(const std::string&, const std::vector<NamedTensor<double>>&,
                                       const std::map<std::string, std::string>&);
template SafetensorsFile<float> parse_safetensors<float>(std::span<const unsigned char>,
                                                         const std::string&, const Limits&);
template SafetensorsFile<double> parse_safetensors<double>(std::span<const unsigned char>,
                                                           const std::string&, const Limits&);
template SafetensorsFile<float> load_safetensors<float>(const std::string&, const Limits&);
template SafetensorsFile<double> load_safetensors<double>(const std::string&, const Limits&);

}  // namespace cnnkit
