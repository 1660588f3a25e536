// The checked reading of JSON values that the model description's reader (model_description.cpp)
// is built on: each read names where the value is and what was expected, and fails with
// std::invalid_argument starting with the document's source ("model.json: layer 2 kernel:
// expected a whole number from 1 to ..., got -3").
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cnnkit/model/model_description.hpp"  // kMaxModelAxis, Shape

namespace cnnkit::detail {

// "4.5", "\"abc\"", "[1,2]" cut to a readable length: what came, for messages.
inline std::string show(const nlohmann::json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

class JsonReader {
 public:
  using json = nlohmann::json;

  explicit JsonReader(std::string_view source) : source_(source) {}

  const std::string& source() const { return source_; }

  [[noreturn]] void fail(const std::string& where, const std::string& expected,
                         const std::string& got) const {
    throw std::invalid_argument(source_ + ": " + where + ": expected " + expected + ", got " + got);
  }

  const json& required(const json& object, const std::string& key, const std::string& where) const {
    if (!object.contains(key)) fail(where, "a key \"" + key + "\"", "none");
    return object[key];
  }

  // Unknown keys are errors: they are almost always typos of known ones.
  void check_keys(const json& object, std::initializer_list<std::string_view> known,
                  const std::string& where, const std::string& what) const {
    for (const auto& [key, value] : object.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string list;
      for (const std::string_view name : known) {
        list += (list.empty() ? "" : ", ") + std::string(name);
      }
      throw std::invalid_argument(source_ + ": " + where + ": unknown " + what + " '" + key +
                                  "' (known: " + list + ")");
    }
  }

  std::string read_string(const json& value, const std::string& where) const {
    if (!value.is_string()) fail(where, "a string", show(value));
    return value.get<std::string>();
  }

  // A whole number in [1, kMaxModelAxis] (JSON 4.0 is not one: sizes are written as integers).
  std::size_t read_size(const json& value, const std::string& where) const {
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0 ||
        value.get<std::uint64_t>() > kMaxModelAxis) {
      fail(where, "a whole number from 1 to " + std::to_string(kMaxModelAxis), show(value));
    }
    return static_cast<std::size_t>(value.get<std::uint64_t>());
  }

  // One size or an array of 1..max_rank sizes.
  Shape read_shape(const json& value, const std::string& where, std::size_t max_rank) const {
    if (value.is_number()) return {read_size(value, where)};
    if (!value.is_array() || value.empty() || value.size() > max_rank) {
      fail(where, "a size or an array of 1 to " + std::to_string(max_rank) + " sizes", show(value));
    }
    Shape shape;
    for (std::size_t i = 0; i < value.size(); ++i) {
      shape.push_back(read_size(value[i], where + "[" + std::to_string(i) + "]"));
    }
    return shape;
  }

  // A whole number in [0, kMaxModelAxis]: a padding size.
  std::size_t read_count(const json& value, const std::string& where) const {
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() > kMaxModelAxis) {
      fail(where, "a whole number from 0 to " + std::to_string(kMaxModelAxis), show(value));
    }
    return static_cast<std::size_t>(value.get<std::uint64_t>());
  }

  double read_number(const json& value, const std::string& where) const {
    if (!value.is_number() || !std::isfinite(value.get<double>())) {
      fail(where, "a finite number", show(value));
    }
    return value.get<double>();
  }

  // One finite number or an array of 1..kMaxModelAxis of them (a value per channel).
  std::vector<double> read_numbers(const json& value, const std::string& where) const {
    if (value.is_number()) return {read_number(value, where)};
    if (!value.is_array() || value.empty() || value.size() > kMaxModelAxis) {
      fail(where, "a number or an array of 1 to " + std::to_string(kMaxModelAxis) + " numbers",
           show(value));
    }
    std::vector<double> numbers;
    for (std::size_t i = 0; i < value.size(); ++i) {
      numbers.push_back(read_number(value[i], where + "[" + std::to_string(i) + "]"));
    }
    return numbers;
  }

 private:
  std::string source_;
};

}  // namespace cnnkit::detail
