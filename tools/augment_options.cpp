// The parsers of augment_options.hpp.
#include "augment_options.hpp"

#include <charconv>
#include <cstddef>
#include <string_view>
#include <vector>

#include "command.hpp"

namespace cnnkit::cli {

namespace {

constexpr const char* kAugmentForm = "none, or crop=P, crop=P:HxW, flip or flip=Q, comma-separated";

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  while (true) {
    const std::size_t end = text.find(separator, begin);
    parts.push_back(text.substr(begin, end == std::string_view::npos ? end : end - begin));
    if (end == std::string_view::npos) return parts;
    begin = end + 1;
  }
}

// The whole text as a number, or false.
template <typename Number>
bool read_number(std::string_view text, Number& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

[[noreturn]] void bad(const std::string& option, const std::string& expected,
                      std::string_view got) {
  throw UsageError(option + ": expected " + expected + ", got '" + std::string(got) + "'");
}

// "P" or "P:HxW" into the crop fields.
void read_crop(std::string_view value, Augmentation& augmentation) {
  const std::vector<std::string_view> parts = split(value, ':');
  if (parts.size() > 2 || !read_number(parts[0], augmentation.crop_padding) ||
      augmentation.crop_padding == 0) {
    bad("--augment crop", "a padding P >= 1 as crop=P or crop=P:HxW", value);
  }
  if (parts.size() == 2) {
    const std::vector<std::string_view> sizes = split(parts[1], 'x');
    if (sizes.size() != 2 || !read_number(sizes[0], augmentation.crop_height) ||
        !read_number(sizes[1], augmentation.crop_width) || augmentation.crop_height == 0 ||
        augmentation.crop_width == 0) {
      bad("--augment crop", "a window HxW of sizes >= 1 after the ':'", value);
    }
  }
}

std::vector<double> read_values(std::string_view text, const std::string& option) {
  std::vector<double> values;
  for (const std::string_view part : split(text, ':')) {
    double value = 0.0;
    if (!read_number(part, value)) bad(option, "numbers separated by ':'", text);
    values.push_back(value);
  }
  return values;
}

}  // namespace

Augmentation parse_augmentation(const std::string& text) {
  Augmentation augmentation;
  if (text == "none") return augmentation;  // turns off a preset's augmentation
  bool crop = false;
  bool flip = false;
  for (const std::string_view item : split(text, ',')) {
    const std::size_t equals = item.find('=');
    const std::string_view name = item.substr(0, equals);
    const bool has_value = equals != std::string_view::npos;
    const std::string_view value = has_value ? item.substr(equals + 1) : std::string_view();
    if (name == "crop" && has_value && !crop) {
      read_crop(value, augmentation);
      crop = true;
    } else if (name == "flip" && !flip) {
      augmentation.flip_probability = 0.5;
      if (has_value && !read_number(value, augmentation.flip_probability)) {
        bad("--augment flip", "a probability as flip=Q", value);
      }
      flip = true;
    } else {
      bad("--augment", std::string(kAugmentForm) + ", each at most once", item);
    }
  }
  return augmentation;
}

Normalization parse_normalization(const std::string& text) {
  const std::vector<std::string_view> parts = split(text, ',');
  if (parts.size() != 2) bad("--normalize", "MEAN,STD (per channel: m1:m2:m3,s1:s2:s3)", text);
  return {read_values(parts[0], "--normalize mean"), read_values(parts[1], "--normalize std")};
}

}  // namespace cnnkit::cli
