// Compiled for the baseline x86-64 CPU: it only asks the CPU what it has.
#include "runtime/simd_level.hpp"

namespace cnnkit::runtime {

SimdLevel best_simd_level() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) return SimdLevel::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kNone;
}

std::string to_string(SimdLevel level) {
  switch (level) {
    case SimdLevel::kAvx512:
      return "avx512";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kNone:
      break;
  }
  return "none";
}

}  // namespace cnnkit::runtime
