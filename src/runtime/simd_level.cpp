// Compiled for the baseline x86-64 CPU: it only asks the CPU what it has.
#include "runtime/simd_level.hpp"

#include <atomic>
#include <cstdlib>

#include "check.hpp"

namespace cnnkit::runtime {

namespace {

void require_cpu_has(SimdLevel level, std::string_view component) {
  const SimdLevel cpu = cpu_simd_level();
  detail::require(level <= cpu, component,
                  "a SIMD level this CPU has (" + to_string(cpu) + " or narrower)",
                  to_string(level));
}

// The level forced now: CNNKIT_SIMD's at first, then set_simd_level's. A setting of the
// process, like the thread count.
std::atomic<SimdLevel>& forced_level() {
  static std::atomic<SimdLevel> level = [] {
    const char* name = std::getenv("CNNKIT_SIMD");
    if (name == nullptr || *name == '\0') return cpu_simd_level();
    const SimdLevel wanted = parse_simd_level(name, "CNNKIT_SIMD");
    require_cpu_has(wanted, "CNNKIT_SIMD");
    return wanted;
  }();
  return level;
}

}  // namespace

SimdLevel cpu_simd_level() {
#if defined(__x86_64__) || defined(__i386__)
  if (__builtin_cpu_supports("avx512f")) return SimdLevel::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SimdLevel::kAvx2;
#endif
  return SimdLevel::kNone;
}

SimdLevel best_simd_level() {
  return forced_level().load(std::memory_order_relaxed);
}

void force_simd_level(SimdLevel level, std::string_view component) {
  require_cpu_has(level, component);
  forced_level().store(level, std::memory_order_relaxed);
}

SimdLevel parse_simd_level(std::string_view name, std::string_view component) {
  if (name == "avx512") return SimdLevel::kAvx512;
  if (name == "avx2") return SimdLevel::kAvx2;
  if (name == "none") return SimdLevel::kNone;
  // Appended, not an operator+ chain: g++ 12 warns falsely (-Wrestrict) on that.
  std::string got = "'";
  got.append(name);
  got.push_back('\'');
  detail::fail(component, "avx512, avx2 or none", got);
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
