#include "cnnkit/float_environment.hpp"

#include "runtime/parallel.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CNNKIT_HAS_MXCSR 1
#endif

namespace cnnkit {

namespace {

#ifdef CNNKIT_HAS_MXCSR
// MXCSR bit 15 flushes denormal results to zero (FTZ), bit 6 treats denormal inputs as zero (DAZ).
constexpr unsigned kFlushToZero = 0x8000;
constexpr unsigned kDenormalsAreZero = 0x0040;
constexpr unsigned kBoth = kFlushToZero | kDenormalsAreZero;

void apply_to_this_thread(bool on) {
  const unsigned csr = _mm_getcsr();
  _mm_setcsr(on ? (csr | kBoth) : (csr & ~kBoth));
}
#endif

}  // namespace

bool set_flush_denormals(bool on) {
#ifdef CNNKIT_HAS_MXCSR
  apply_to_this_thread(on);
  // Each pool thread keeps its own MXCSR: one team of the whole pool sets it on every one.
  runtime::on_whole_team(runtime::team_size(),
                         [on](std::size_t, std::size_t, bool) { apply_to_this_thread(on); });
  return true;
#else
  (void)on;
  return false;
#endif
}

bool flush_denormals() {
#ifdef CNNKIT_HAS_MXCSR
  return (_mm_getcsr() & kBoth) == kBoth;
#else
  return false;
#endif
}

}  // namespace cnnkit
