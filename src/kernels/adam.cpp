#include "kernels/adam.hpp"

#include <cmath>
#include <cstddef>

#include "runtime/parallel.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

namespace {

// Below this many weights starting the threads costs more than the update of them.
constexpr std::size_t kParallelWeights = 1 << 13;

// The update of [begin, end), inlined into each per-ISA copy below and vectorised there.
template <typename T>
[[gnu::always_inline]] inline void adam_range(T* w, T* v, T* r, const T* g, std::size_t begin,
                                              std::size_t end, const AdamStep<T>& step) {
  const T mu = step.mu, rho = step.rho, eta = step.learning_rate, eps = step.epsilon;
  const T correction_v = step.inverse_correction_v, correction_r = step.inverse_correction_r;
  for (std::size_t i = begin; i < end; ++i) {
    v[i] = mu * v[i] + (T(1) - mu) * g[i];
    r[i] = rho * r[i] + (T(1) - rho) * g[i] * g[i];
    const T v_hat = v[i] * correction_v;
    const T r_hat = r[i] * correction_r;
    w[i] -= eta * v_hat / (std::sqrt(r_hat) + eps);
  }
}

#if defined(__x86_64__) || defined(__i386__)
template <typename T>
[[gnu::target("avx512f")]] void adam_range_avx512(T* w, T* v, T* r, const T* g, std::size_t begin,
                                                  std::size_t end, const AdamStep<T>& step) {
  adam_range(w, v, r, g, begin, end, step);
}
template <typename T>
[[gnu::target("avx2")]] void adam_range_avx2(T* w, T* v, T* r, const T* g, std::size_t begin,
                                             std::size_t end, const AdamStep<T>& step) {
  adam_range(w, v, r, g, begin, end, step);
}
#endif

template <typename T>
void adam_range_widest(T* w, T* v, T* r, const T* g, std::size_t begin, std::size_t end,
                       const AdamStep<T>& step, runtime::SimdLevel level) {
#if defined(__x86_64__) || defined(__i386__)
  if (level == runtime::SimdLevel::kAvx512) return adam_range_avx512(w, v, r, g, begin, end, step);
  if (level == runtime::SimdLevel::kAvx2) return adam_range_avx2(w, v, r, g, begin, end, step);
#endif
  (void)level;
  adam_range(w, v, r, g, begin, end, step);
}

}  // namespace

template <typename T>
void adam_update(T* w, T* v, T* r, const T* g, std::size_t n, const AdamStep<T>& step) {
  const runtime::SimdLevel level = runtime::best_simd_level();
  if (!runtime::worth_a_team(n >= kParallelWeights)) {
    adam_range_widest(w, v, r, g, 0, n, step, level);
    return;
  }
  runtime::on_team(runtime::team_size(), [&](std::size_t thread, std::size_t threads, bool) {
    adam_range_widest(w, v, r, g, runtime::share(n, threads, thread),
                      runtime::share(n, threads, thread + 1), step, level);
  });
}

template <typename T>
void adam_update_reference(T* w, T* v, T* r, const T* g, std::size_t n, const AdamStep<T>& step) {
  adam_range(w, v, r, g, 0, n, step);
}

template void adam_update<float>(float*, float*, float*, const float*, std::size_t,
                                 const AdamStep<float>&);
template void adam_update<double>(double*, double*, double*, const double*, std::size_t,
                                  const AdamStep<double>&);
template void adam_update_reference<float>(float*, float*, float*, const float*, std::size_t,
                                           const AdamStep<float>&);
template void adam_update_reference<double>(double*, double*, double*, const double*, std::size_t,
                                            const AdamStep<double>&);

}  // namespace cnnkit::kernels
