// CSV reader: split each line into fields (keeping the column of each for error messages), decide
// header and label mapping, then convert the features with std::from_chars (locale-independent,
// exact round trip, and it reports out-of-range values instead of invoking undefined behaviour).
#include "cnnkit/data/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <stdexcept>

#include "check.hpp"
#include "cnnkit/limits.hpp"
#include "data/gzip.hpp"
#include "io/file_bytes.hpp"

namespace cnnkit {
namespace {

struct Field {
  std::string text;
  std::size_t column;  // 1-based byte column where the field starts
};

struct Position {
  std::size_t line;
  std::size_t column;
};

class CsvParser {
 public:
  CsvParser(const std::string& source, const CsvOptions& options)
      : source_(source), options_(options) {}

  [[noreturn]] void fail(Position at, std::string_view expected, std::string_view got) const {
    detail::fail(
        "CSV: " + source_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column),
        expected, got);
  }

  // A field as error messages show it: quoted, and cut short when long.
  static std::string quoted(std::string_view text) {
    constexpr std::size_t kShown = 40;
    std::string shown(1, '\'');
    shown.append(text.substr(0, kShown));
    shown.append(text.size() <= kShown ? "'" : "...'");
    return shown;
  }

  bool is_blank(char c) const { return (c == ' ' || c == '\t') && c != options_.delimiter; }

  std::vector<Field> split(std::string_view line, std::size_t line_number) const {
    std::vector<Field> fields;
    std::size_t i = 0;
    const std::size_t n = line.size();
    for (;;) {
      while (i < n && is_blank(line[i])) ++i;
      Field field{{}, i + 1};
      if (i < n && line[i] == '"') {
        ++i;
        for (;;) {
          if (i >= n) fail({line_number, field.column}, "a closing quote", "the end of the line");
          if (line[i] == '"') {
            if (i + 1 < n && line[i + 1] == '"') {  // "" inside quotes is one quote
              field.text += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          field.text += line[i++];
        }
        while (i < n && is_blank(line[i])) ++i;
        if (i < n && line[i] != options_.delimiter) {
          fail({line_number, i + 1}, "the delimiter after a quoted field",
               quoted(line.substr(i, 1)));
        }
      } else {
        const std::size_t end = std::min(line.find(options_.delimiter, i), n);
        std::size_t last = end;
        while (last > i && is_blank(line[last - 1])) --last;
        field.text.assign(line.substr(i, last - i));
        i = end;
      }
      fields.push_back(std::move(field));
      if (i >= n) return fields;
      ++i;  // past the delimiter; a delimiter at the end of the line leaves one empty field
    }
  }

  // The number in the field, or nothing when it is not one (for header detection).
  template <typename T>
  static std::optional<T> number(std::string_view text) {
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    T value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(value)) {
      return std::nullopt;
    }
    return value;
  }

  // Whether the text reads as a number at all, whatever its range (header detection: a too
  // large value on the first line is a data error, not a column name).
  static bool looks_numeric(std::string_view text) {
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    double ignored = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ignored);
    return !text.empty() && end == text.data() + text.size() &&
           (error == std::errc() || error == std::errc::result_out_of_range);
  }

  template <typename T>
  T feature(const Field& field, std::size_t line_number) const {
    const std::optional<T> value = number<T>(field.text);
    if (value) return *value;
    // Say why: out of range and non-finite values look like numbers to a reader.
    std::string_view text = field.text;
    if (!text.empty() && text.front() == '+') text.remove_prefix(1);
    T ignored{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), ignored);
    const bool whole = !text.empty() && end == text.data() + text.size();
    const Position at{line_number, field.column};
    if (whole && error == std::errc::result_out_of_range) {
      fail(at,
           std::string("a number within the range of ") +
               (sizeof(T) == sizeof(float) ? "float" : "double"),
           quoted(field.text));
    }
    if (whole && error == std::errc()) fail(at, "a finite number", quoted(field.text));
    fail(at, "a number", quoted(field.text));
  }

  static std::optional<std::size_t> integer(std::string_view text) {
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
      return std::nullopt;
    }
    return value;
  }

  template <typename T>
  Dataset<T> parse(std::string_view text) {
    if (options_.delimiter == '"' || options_.delimiter == '\n' || options_.delimiter == '\r') {
      detail::fail("CSV: " + source_, "a delimiter other than a quote or a line end",
                   quoted(std::string(1, options_.delimiter)));
    }
    constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
    if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());

    typename Tensor<T>::Storage values;  // the tensor's own storage: taken over without a copy
    std::vector<std::string> label_texts;
    std::vector<Position> label_positions;
    std::size_t columns = 0;  // fields per line, fixed by the first non-blank line
    std::size_t label_column = 0;
    std::size_t line_number = 0;
    bool first = true;
    for (std::size_t start = 0; start < text.size();) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      std::string_view line = text.substr(start, end - start);
      start = end + 1;
      ++line_number;
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; })) {
        continue;
      }
      const std::vector<Field> fields = split(line, line_number);
      if (first) {
        first = false;
        columns = fields.size();
        label_column =
            options_.label_column == CsvOptions::kLastColumn ? columns - 1 : options_.label_column;
        if (columns < 2 || label_column >= columns) {
          fail({line_number, 1},
               "a label column and at least one feature column (label column " +
                   std::to_string(label_column + 1) + ", 1-based)",
               std::to_string(columns) + " columns");
        }
        const bool header = options_.header.value_or(
            std::any_of(fields.begin(), fields.end(), [&](const Field& field) {
              return &field != &fields[label_column] && !looks_numeric(field.text);
            }));
        if (header) continue;
      }
      if (fields.size() != columns) {
        fail({line_number, 1}, std::to_string(columns) + " fields (as on the first line)",
             std::to_string(fields.size()));
      }
      for (std::size_t c = 0; c < columns; ++c) {
        if (c == label_column) continue;
        values.push_back(feature<T>(fields[c], line_number));
      }
      label_texts.push_back(fields[label_column].text);
      label_positions.push_back({line_number, fields[label_column].column});
    }
    if (label_texts.empty()) {
      fail({line_number + 1, 1}, "at least one line of data", "none");
    }

    Dataset<T> dataset;
    dataset.labels = labels(label_texts, label_positions, dataset.class_names);
    const std::size_t count = label_texts.size();
    dataset.inputs = Tensor<T>::from_storage({count, columns - 1}, std::move(values));
    return dataset;
  }

 private:
  // Class indices for the label fields; fills class_names.
  std::vector<std::size_t> labels(const std::vector<std::string>& texts,
                                  const std::vector<Position>& positions,
                                  std::vector<std::string>& class_names) const {
    std::vector<std::size_t> result(texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      if (texts[i].empty()) fail(positions[i], "a label", "an empty field");
    }
    if (!options_.class_names.empty()) {
      class_names = options_.class_names;
      std::map<std::string, std::size_t, std::less<>> index;
      for (std::size_t c = 0; c < class_names.size(); ++c) index.emplace(class_names[c], c);
      for (std::size_t i = 0; i < texts.size(); ++i) {
        if (const auto found = index.find(texts[i]); found != index.end()) {
          result[i] = found->second;
        } else if (const auto number = integer(texts[i]); number && *number < class_names.size()) {
          result[i] = *number;
        } else {
          fail(positions[i],
               "one of the " + std::to_string(class_names.size()) +
                   " class names or a class index below " + std::to_string(class_names.size()),
               quoted(texts[i]));
        }
      }
      return result;
    }

    std::vector<std::optional<std::size_t>> numbers(texts.size());
    std::transform(texts.begin(), texts.end(), numbers.begin(), integer);
    if (std::all_of(numbers.begin(), numbers.end(), [](const auto& n) { return n.has_value(); })) {
      std::size_t largest = 0;
      for (std::size_t i = 0; i < texts.size(); ++i) {
        if (*numbers[i] >= CsvOptions::kMaxIntegerClasses) {
          fail(positions[i],
               "a class index below " + std::to_string(CsvOptions::kMaxIntegerClasses) +
                   " (give CsvOptions::class_names for more)",
               quoted(texts[i]));
        }
        result[i] = *numbers[i];
        largest = std::max(largest, result[i]);
      }
      for (std::size_t c = 0; c <= largest; ++c) class_names.push_back(std::to_string(c));
      return result;
    }

    // Names: sorted distinct names, so that shuffling the rows does not renumber the classes.
    std::map<std::string, std::size_t, std::less<>> index;
    for (const std::string& text : texts) index.emplace(text, 0);
    for (auto& [name, position] : index) {
      position = class_names.size();
      class_names.push_back(name);
    }
    for (std::size_t i = 0; i < texts.size(); ++i) result[i] = index.find(texts[i])->second;
    return result;
  }

  const std::string& source_;
  const CsvOptions& options_;
};

}  // namespace

template <typename T>
Dataset<T> parse_csv(std::string_view text, const std::string& source, const CsvOptions& options) {
  return CsvParser(source, options).parse<T>(text);
}

template <typename T>
Dataset<T> load_csv(const std::string& path, const CsvOptions& options, const Limits& limits) {
  std::vector<unsigned char> bytes = detail::read_file_bytes(path, "CSV", limits.file_bytes);
  if (detail::is_gzip(bytes)) {
    bytes =
        detail::gunzip(bytes, "CSV", path, limits.file_bytes, limit_hint("CNNKIT_MAX_FILE_BYTES"));
  }
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return parse_csv<T>(text, path, options);
}

template Dataset<float> parse_csv<float>(std::string_view, const std::string&, const CsvOptions&);
template Dataset<double> parse_csv<double>(std::string_view, const std::string&, const CsvOptions&);
template Dataset<float> load_csv<float>(const std::string&, const CsvOptions&, const Limits&);
template Dataset<double> load_csv<double>(const std::string&, const CsvOptions&, const Limits&);

}  // namespace cnnkit
