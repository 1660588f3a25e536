// libFuzzer target for the CSV reader. The first byte picks the options (label column, header
// mode, delimiter, given class names, float or double), the rest is the text. Rejections
// (std::invalid_argument, std::runtime_error) are expected; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "cnnkit/data/csv.hpp"

namespace {

template <typename T>
void parse(std::string_view text, const cnnkit::CsvOptions& options) {
  try {
    const cnnkit::Dataset<T> dataset = cnnkit::parse_csv<T>(text, "fuzz.csv", options);
    // Invariants every successful parse must hold.
    if (dataset.inputs.rank() != 2 || dataset.inputs.dim(0) != dataset.labels.size() ||
        dataset.labels.empty()) {
      std::abort();
    }
    for (const std::size_t label : dataset.labels) {
      if (label >= dataset.class_names.size()) std::abort();
    }
  } catch (const std::invalid_argument&) {
  } catch (const std::runtime_error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const unsigned choice = data[0];
  cnnkit::CsvOptions options;
  options.label_column = (choice & 4u) != 0 ? cnnkit::CsvOptions::kLastColumn : (choice & 3u);
  switch ((choice >> 3) & 3u) {
    case 1:
      options.header = true;
      break;
    case 2:
      options.header = false;
      break;
    default:
      break;  // auto-detect
  }
  constexpr char kDelimiters[] = {',', ';', '\t', ' '};
  options.delimiter = kDelimiters[(choice >> 5) & 3u];
  if ((choice & 0x80u) != 0) options.class_names = {"a", "b", "0"};
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((choice & 0x40u) != 0) {
    parse<double>(text, options);
  } else {
    parse<float>(text, options);
  }
  return 0;
}
