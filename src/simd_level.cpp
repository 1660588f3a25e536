#include "cnnkit/simd_level.hpp"

#include "runtime/simd_level.hpp"

namespace cnnkit {

void set_simd_level(std::string_view level) {
  runtime::force_simd_level(runtime::parse_simd_level(level, "set_simd_level"), "set_simd_level");
}

std::string simd_level() {
  return runtime::to_string(runtime::best_simd_level());
}

}  // namespace cnnkit
