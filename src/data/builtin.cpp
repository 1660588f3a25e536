// Loaders for the shipped Iris and digits files (data/README.md describes them) and the fixed-seed
// split the digits examples use. A bad file is reported with its name, the line and what was wrong
// there.
#include "cnnkit/data/builtin.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "check.hpp"
#include "cnnkit/random.hpp"

namespace cnnkit {

namespace {

// Everything a message about one line of one file needs.
struct Where {
  std::string_view loader;  // "load_iris"
  std::string_view path;
  std::size_t line = 0;  // 1-based; 0 for the file as a whole
};

[[noreturn]] void file_error(const Where& where, const std::string& expected,
                             const std::string& got) {
  std::string message = std::string(where.loader) + ": " + std::string(where.path);
  if (where.line > 0) message += " line " + std::to_string(where.line);
  throw std::runtime_error(message + ": expected " + expected + ", got " + got);
}

// "\"text\"" (built step by step: GCC 12 warns falsely (-Wrestrict) on "\"" + string + "\"").
std::string quoted(std::string_view text) {
  std::string result;
  result.reserve(text.size() + 2);
  result += '"';
  result += text;
  result += '"';
  return result;
}

std::string read_plain_file(const Where& where) {
  std::ifstream file(std::string(where.path), std::ios::binary);
  if (!file) file_error(where, "a readable file", "none (missing or not readable)");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Decompresses a gzip file with zlib (a file that is not gzip is read as it is, as gzread does).
std::string read_gzip_file(const Where& where) {
  const std::unique_ptr<gzFile_s, decltype(&gzclose)> file(
      gzopen(std::string(where.path).c_str(), "rb"), &gzclose);
  if (!file) file_error(where, "a readable file", "none (missing or not readable)");
  std::string text;
  std::vector<char> chunk(1 << 16);
  int read = 0;
  while ((read = gzread(file.get(), chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) {
    text.append(chunk.data(), static_cast<std::size_t>(read));
  }
  int error = Z_OK;
  const char* const message = gzerror(file.get(), &error);
  if (read < 0 || (error != Z_OK && error != Z_STREAM_END)) {
    file_error(
        where, "intact gzip data",
        "a zlib error after " + std::to_string(text.size()) + " bytes: " + std::string(message));
  }
  return text;
}

struct Line {
  std::size_t number;     // 1-based
  std::string_view text;  // without the line break
};

// The lines of a text (LF or CRLF), without the blank lines at its end.
std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({lines.size() + 1, line});
    start = end + 1;
  }
  while (!lines.empty() && lines.back().text.find_first_not_of(" \t") == std::string_view::npos) {
    lines.pop_back();
  }
  return lines;
}

std::string_view trim(std::string_view field) {
  const std::size_t first = field.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const std::size_t last = field.find_last_not_of(" \t");
  return field.substr(first, last - first + 1);
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    fields.push_back(
        trim(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

// The fields of one line; exactly `count` of them.
std::vector<std::string_view> fields_of(const Line& line, std::size_t count, const Where& file) {
  const Where where{file.loader, file.path, line.number};
  const std::vector<std::string_view> fields = split_fields(line.text);
  if (fields.size() != count) {
    file_error(where, std::to_string(count) + " comma-separated fields",
               std::to_string(fields.size()) + " in " + quoted(line.text.substr(0, 80)));
  }
  return fields;
}

double parse_number(std::string_view field, std::size_t column, const Where& where) {
  double value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size() || !std::isfinite(value)) {
    file_error(where, "a finite number in field " + std::to_string(column + 1), quoted(field));
  }
  return value;
}

std::size_t parse_index(std::string_view field, std::size_t column, std::size_t limit,
                        std::string_view what, const Where& where) {
  std::size_t value = 0;
  const auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size() || value >= limit) {
    file_error(where,
               std::string(what) + " from 0 to " + std::to_string(limit - 1) + " in field " +
                   std::to_string(column + 1),
               quoted(field));
  }
  return value;
}

constexpr std::size_t kIrisMaxCount = 1'000'000;  // a header past this is corrupt, not big data

}  // namespace

template <typename T>
Dataset<T> load_iris(const std::string& path) {
  const Where file{"load_iris", path, 0};
  const std::string text = read_plain_file(file);
  const std::vector<Line> lines = split_lines(text);
  if (lines.empty())
    file_error(file, "a header line \"count,features,class names...\"", "an empty file");

  // Header: "150,4,setosa,versicolor,virginica".
  const Where header{file.loader, file.path, lines.front().number};
  const std::vector<std::string_view> head = split_fields(lines.front().text);
  if (head.size() < 3) {
    file_error(header, "a header \"count,features,class names...\"",
               quoted(lines.front().text.substr(0, 80)));
  }
  const std::size_t count = parse_index(head[0], 0, kIrisMaxCount, "a sample count", header);
  const std::size_t features = parse_index(head[1], 1, 1000, "a feature count", header);
  if (features == 0) file_error(header, "at least one feature", "0");
  std::vector<std::string> class_names(head.begin() + 2, head.end());
  for (std::size_t i = 0; i < class_names.size(); ++i) {
    if (class_names[i].empty())
      file_error(header, "a class name in field " + std::to_string(i + 3), "an empty field");
  }
  if (lines.size() - 1 != count) {
    file_error(header, std::to_string(count) + " data lines after the header (as it says)",
               std::to_string(lines.size() - 1));
  }

  Dataset<T> dataset{Tensor<T>({count, features}), {}, std::move(class_names)};
  dataset.labels.reserve(count);
  for (std::size_t row = 0; row < count; ++row) {
    const Line& line = lines[row + 1];
    const Where where{file.loader, file.path, line.number};
    const std::vector<std::string_view> fields = fields_of(line, features + 1, file);
    for (std::size_t column = 0; column < features; ++column) {
      dataset.inputs[row * features + column] =
          static_cast<T>(parse_number(fields[column], column, where));
    }
    dataset.labels.push_back(
        parse_index(fields[features], features, dataset.num_classes(), "a class index", where));
  }
  dataset.validate(path);
  return dataset;
}

template <typename T>
Dataset<T> load_digits(const std::string& path) {
  constexpr std::size_t kSide = 8;
  constexpr std::size_t kPixels = kSide * kSide;
  constexpr double kMaxPixel = 16;  // each pixel counts the set bits of a 4x4 block
  constexpr std::size_t kClasses = 10;

  const Where file{"load_digits", path, 0};
  const std::string text = read_gzip_file(file);
  const std::vector<Line> lines = split_lines(text);
  if (lines.empty()) file_error(file, "lines of 64 pixels and a digit", "an empty file");

  Dataset<T> dataset{Tensor<T>({lines.size(), 1, kSide, kSide}), {}, {}};
  for (std::size_t digit = 0; digit < kClasses; ++digit)
    dataset.class_names.push_back(std::to_string(digit));
  dataset.labels.reserve(lines.size());
  for (std::size_t row = 0; row < lines.size(); ++row) {
    const Line& line = lines[row];
    const Where where{file.loader, file.path, line.number};
    const std::vector<std::string_view> fields = fields_of(line, kPixels + 1, file);
    for (std::size_t column = 0; column < kPixels; ++column) {
      const double pixel = parse_number(fields[column], column, where);
      if (pixel < 0 || pixel > kMaxPixel) {
        file_error(where, "a pixel from 0 to 16 in field " + std::to_string(column + 1),
                   quoted(fields[column]));
      }
      // Scaled to [0, 1] by the maximum 16.
      dataset.inputs[row * kPixels + column] = static_cast<T>(pixel / kMaxPixel);
    }
    dataset.labels.push_back(parse_index(fields[kPixels], kPixels, kClasses, "a digit", where));
  }
  dataset.validate(path);
  return dataset;
}

template <typename T>
std::pair<Dataset<T>, Dataset<T>> shuffled_split(const Dataset<T>& dataset, double train_fraction,
                                                 std::uint64_t seed) {
  detail::require(train_fraction > 0 && train_fraction < 1, "shuffled_split",
                  "a train fraction in (0, 1)", std::to_string(train_fraction));
  dataset.validate("given to shuffled_split");
  std::vector<std::size_t> order(dataset.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  // An engine of its own: the split depends on `seed` alone, not on what drew from the
  // library's engine before.
  RandomEngine engine(seed);
  std::shuffle(order.begin(), order.end(), engine);
  const auto train_count =
      static_cast<std::size_t>(std::llround(train_fraction * static_cast<double>(dataset.size())));
  const std::vector<std::size_t> train(order.begin(),
                                       order.begin() + static_cast<std::ptrdiff_t>(train_count));
  const std::vector<std::size_t> test(order.begin() + static_cast<std::ptrdiff_t>(train_count),
                                      order.end());
  return {dataset.subset(train), dataset.subset(test)};
}

template Dataset<float> load_iris<float>(const std::string&);
template Dataset<double> load_iris<double>(const std::string&);
template Dataset<float> load_digits<float>(const std::string&);
template Dataset<double> load_digits<double>(const std::string&);
template std::pair<Dataset<float>, Dataset<float>> shuffled_split<float>(const Dataset<float>&,
                                                                         double, std::uint64_t);
template std::pair<Dataset<double>, Dataset<double>> shuffled_split<double>(const Dataset<double>&,
                                                                            double, std::uint64_t);

}  // namespace cnnkit
