// The fast BatchNorm kernels (batch_norm_kernels.hpp): plain loops in a fixed order that the
// compiler vectorises, one copy per instruction set (as adam.cpp), chosen at run time.
#include <cstddef>

#include "kernels/batch_norm_kernels.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

namespace {

// Partial sums per running sum: two AVX-512 registers of doubles, four of AVX2.
constexpr std::size_t kPartials = 16;

// Calls add(k, s) for each value s of a plane of `spatial` values, k = s mod kPartials, then
// adds each running sum's partials pairwise: partial[j][0] holds sum j.
template <std::size_t Sums, typename Add>
[[gnu::always_inline]] inline void plane_sums(std::size_t spatial,
                                              double (&partial)[Sums][kPartials], Add add) {
  for (auto& sum : partial) {
    for (double& p : sum) p = 0;
  }
  std::size_t s = 0;
  for (; s + kPartials <= spatial; s += kPartials) {
    for (std::size_t k = 0; k < kPartials; ++k) add(k, s + k);
  }
  for (std::size_t k = 0; s + k < spatial; ++k) add(k, s + k);
  for (auto& sum : partial) {
    for (std::size_t width = kPartials / 2; width > 0; width /= 2) {
      for (std::size_t k = 0; k < width; ++k) sum[k] += sum[k + width];
    }
  }
}

template <typename T>
struct ShiftedSums {
  [[gnu::always_inline]] static inline void run(const T* x, const double* shift,
                                                const PlaneRange* range, double* sums) {
    for (std::size_t p = range->begin; p < range->end; ++p) {
      const T* plane = x + p * range->spatial;
      const double by = shift[p % range->channels];
      double partial[2][kPartials];
      plane_sums(range->spatial, partial, [&](std::size_t k, std::size_t s) {
        const double d = static_cast<double>(plane[s]) - by;
        partial[0][k] += d;
        partial[1][k] += d * d;
      });
      sums[2 * p] = partial[0][0];
      sums[2 * p + 1] = partial[1][0];
    }
  }
};

template <typename T>
struct ErrorSums {
  [[gnu::always_inline]] static inline void run(const T* x, const T* e, const double* mean,
                                                const PlaneRange* range, double* sums) {
    for (std::size_t p = range->begin; p < range->end; ++p) {
      const T* in = x + p * range->spatial;
      const T* error = e + p * range->spatial;
      const double m = mean[p % range->channels];
      double partial[2][kPartials];
      plane_sums(range->spatial, partial, [&](std::size_t k, std::size_t s) {
        const double value = static_cast<double>(error[s]);
        partial[0][k] += value;
        partial[1][k] += value * (static_cast<double>(in[s]) - m);
      });
      sums[2 * p] = partial[0][0];
      sums[2 * p + 1] = partial[1][0];
    }
  }
};

template <typename T>
struct Affine {
  [[gnu::always_inline]] static inline void run(const T* x, T* y, const T* factor, const T* offset,
                                                const PlaneRange* range) {
    for (std::size_t p = range->begin; p < range->end; ++p) {
      const T a = factor[p % range->channels], b = offset[p % range->channels];
      const T* in = x + p * range->spatial;
      T* out = y + p * range->spatial;
      for (std::size_t s = 0; s < range->spatial; ++s) out[s] = a * in[s] + b;
    }
  }
};

template <typename T>
struct InputError {
  [[gnu::always_inline]] static inline void run(const T* x, const T* e, T* dx, const double* mean,
                                                const double* k, const double* mean_error,
                                                const double* x_hat_weight,
                                                const PlaneRange* range) {
    for (std::size_t p = range->begin; p < range->end; ++p) {
      const std::size_t c = p % range->channels;
      const double m = mean[c], kc = k[c], me = mean_error[c], w = x_hat_weight[c];
      const T* in = x + p * range->spatial;
      const T* error = e + p * range->spatial;
      T* out = dx + p * range->spatial;
      for (std::size_t s = 0; s < range->spatial; ++s) {
        const double centred = static_cast<double>(in[s]) - m;
        out[s] = static_cast<T>(kc * (static_cast<double>(error[s]) - me - centred * w));
      }
    }
  }
};

#if defined(__x86_64__) || defined(__i386__)
template <typename Kernel, typename... Args>
[[gnu::target("avx512f")]] void run_avx512(Args... args) {
  Kernel::run(args...);
}
template <typename Kernel, typename... Args>
[[gnu::target("avx2")]] void run_avx2(Args... args) {
  Kernel::run(args...);
}
#endif

// Kernel::run on the widest instruction set the kernels use.
template <typename Kernel, typename... Args>
void run_widest(Args... args) {
#if defined(__x86_64__) || defined(__i386__)
  const runtime::SimdLevel level = runtime::best_simd_level();
  if (level == runtime::SimdLevel::kAvx512) return run_avx512<Kernel>(args...);
  if (level == runtime::SimdLevel::kAvx2) return run_avx2<Kernel>(args...);
#endif
  Kernel::run(args...);
}

}  // namespace

template <typename T>
void shifted_sums(const T* x, const double* shift, const PlaneRange& range, double* sums) {
  run_widest<ShiftedSums<T>>(x, shift, &range, sums);
}

template <typename T>
void error_sums(const T* x, const T* e, const double* mean, const PlaneRange& range, double* sums) {
  run_widest<ErrorSums<T>>(x, e, mean, &range, sums);
}

template <typename T>
void affine(const T* x, T* y, const T* factor, const T* offset, const PlaneRange& range) {
  run_widest<Affine<T>>(x, y, factor, offset, &range);
}

template <typename T>
void input_error(const T* x, const T* e, T* dx, const double* mean, const double* k,
                 const double* mean_error, const double* x_hat_weight, const PlaneRange& range) {
  run_widest<InputError<T>>(x, e, dx, mean, k, mean_error, x_hat_weight, &range);
}

CNNKIT_BATCH_NORM_KERNELS(float, template)
CNNKIT_BATCH_NORM_KERNELS(double, template)

}  // namespace cnnkit::kernels
