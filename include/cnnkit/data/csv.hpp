// CSV files of labelled feature vectors: one sample per line, one column holding the class and
// every other column a feature. Loads into a Dataset with inputs (count, features).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cnnkit/data/dataset.hpp"
#include "cnnkit/limits.hpp"

namespace cnnkit {

struct CsvOptions {
  // label_column = kLastColumn picks the last column, wherever that is.
  static constexpr std::size_t kLastColumn = static_cast<std::size_t>(-1);
  // Classes given as integers are indices below this bound (more needs class_names).
  static constexpr std::size_t kMaxIntegerClasses = std::size_t{1} << 16;

  std::size_t label_column = 0;  // 0-based column of the class
  // true: the first line is a header and is skipped; false: it is data; unset (the default):
  // it is a header when one of its feature fields is not a number.
  std::optional<bool> header{};
  char delimiter = ',';
  // Class names in label order. A label is then one of these names, or an integer index into them.
  // Empty (the default): the classes come from the data, see load_csv.
  std::vector<std::string> class_names{};
};

// Parses CSV text; `source` names it in errors ("CSV: iris.csv:12:5: expected a number, got 'x'",
// line and column 1-based, the column counting bytes). Fields are separated by the delimiter,
// surrounded by optional spaces or tabs, and may be double-quoted ("a, b", "say ""hi"""), though
// a quoted field cannot span lines. Blank lines are skipped, "\r\n" line ends and a UTF-8 byte
// order mark are accepted. Every line must have as many fields as the first one.
// Labels without options.class_names: when every label is a non-negative integer, labels are
// class indices and the classes are named "0".."largest label"; otherwise every label is a class
// name and the classes are the distinct names in sorted (byte-wise) order, so that the mapping does
// not depend on the order of the rows. Features must be finite numbers within T's range.
// Any problem throws std::invalid_argument.
template <typename T>
Dataset<T> parse_csv(std::string_view text, const std::string& source,
                     const CsvOptions& options = {});

// Reads a CSV file (plain, or gzip-compressed recognised by its magic bytes) with parse_csv; a
// missing or unreadable file throws std::runtime_error naming the path. A file, or its
// decompressed text, of more than limits.file_bytes is refused before it is read or inflated.
template <typename T>
Dataset<T> load_csv(const std::string& path, const CsvOptions& options = {},
                    const Limits& limits = Limits::from_environment());

extern template Dataset<float> parse_csv<float>(std::string_view, const std::string&,
                                                const CsvOptions&);
extern template Dataset<double> parse_csv<double>(std::string_view, const std::string&,
                                                  const CsvOptions&);
extern template Dataset<float> load_csv<float>(const std::string&, const CsvOptions&,
                                               const Limits&);
extern template Dataset<double> load_csv<double>(const std::string&, const CsvOptions&,
                                                 const Limits&);

}  // namespace cnnkit
