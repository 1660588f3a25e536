// Puts back the SIMD level a test forced, also when the test fails half-way.
#pragma once

#include <string>

#include "cnnkit/simd_level.hpp"

namespace cnnkit::testing {

class SimdLevelGuard {
 public:
  SimdLevelGuard() : saved_(simd_level()) {}
  ~SimdLevelGuard() { set_simd_level(saved_); }
  SimdLevelGuard(const SimdLevelGuard&) = delete;
  SimdLevelGuard& operator=(const SimdLevelGuard&) = delete;

 private:
  std::string saved_;
};

}  // namespace cnnkit::testing
