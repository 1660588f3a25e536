// libFuzzer target for the model description parser (the JSON of model files and --model). Every
// input is text; rejections (std::invalid_argument, std::runtime_error) are expected, anything else
// is a finding. An accepted description must survive to_json and back unchanged, and summarise.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "cnnkit/model/model_description.hpp"
#include "cnnkit/model/model_summary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cnnkit::ModelDescription description;
  try {
    description = cnnkit::parse_model_description(text, "fuzz.json");
  } catch (const std::invalid_argument&) {
    return 0;
  } catch (const std::runtime_error&) {
    return 0;
  }
  // Invariants of an accepted description: no exception from here on.
  if (cnnkit::parse_model_description(cnnkit::to_json(description), "round trip") != description) {
    std::abort();
  }
  const cnnkit::ModelSummary summary = cnnkit::summarize(description);
  if (summary.rows.size() != description.layers.size() ||
      summary.rows.back().output_shape.size() != 1) {
    std::abort();
  }
  return 0;
}
