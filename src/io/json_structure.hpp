// A first pass over JSON text, before nlohmann builds a document from it: nlohmann parses
// iteratively but its document code recurses (dump(), which error messages call to show a value,
// overflows the stack at a few 10,000 levels), and it silently keeps the last of repeated keys.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace cnnkit::detail {

struct JsonStructureLimits {
  std::uint64_t depth = 64;  // nesting of arrays and objects
  // Keys of the outermost object: at most top_level_keys ("at most 65537 <top_level_count_what>",
  // with how to raise `top_level_variable`); a repeated one is "distinct <top_level_key_name>"
  // when that is set (the outermost keys of a safetensors header are tensor names).
  std::uint64_t top_level_keys = std::numeric_limits<std::uint64_t>::max();
  std::string_view top_level_count_what = "keys";
  std::string_view top_level_variable = {};
  std::string_view top_level_key_name = {};
};

// Checks that arrays and objects nest at most limits.depth deep, that the outermost object has at
// most limits.top_level_keys keys, and that no object repeats a key. Throws std::invalid_argument
// "<component>: expected ..., got ..." naming the limit (and how to raise it) or the repeated key
// and its path. Syntax errors are left to the parse that follows (it reports them with its own
// position): this pass stops at the first one without a word. O(n log n) in the number of keys.
void check_json_structure(std::string_view text, std::string_view component,
                          const JsonStructureLimits& limits);

}  // namespace cnnkit::detail
