// The fast BatchNorm kernels (batch_norm_kernels.hpp): plain loops in a fixed order that the
// compiler vectorises, one copy per instruction set (as adam.cpp), chosen at run time.
#include <cstddef>

#include "kernels/batch_norm_kernels.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

namespace {

// Partial sums per running sum: two AVX-512 registers of doubles, four of AVX2.
constexpr std::size_t kPartials = 16;

// Calls add(partial, i) for each value i of channel c with partial = s mod kPartials (s its
// position in its plane), then adds the partials pairwise: partial[0] holds the sum.
template <std::size_t Sums, typename Add>
[[gnu::always_inline]] inline void partial_sums(const ChannelLayout& layout, std::size_t c,
                                                double (&partial)[Sums][kPartials], Add add) {
  for (auto& sum : partial) {
    for (double& p : sum) p = 0;
  }
  for (std::size_t n = 0; n < layout.batch; ++n) {
    const std::size_t start = layout.plane(n, c);
    std::size_t s = 0;
    for (; s + kPartials <= layout.spatial; s += kPartials) {
      for (std::size_t k = 0; k < kPartials; ++k) add(k, start + s + k);
    }
    for (std::size_t k = 0; s + k < layout.spatial; ++k) add(k, start + s + k);
  }
  for (auto& sum : partial) {
    for (std::size_t width = kPartials / 2; width > 0; width /= 2) {
      for (std::size_t k = 0; k < width; ++k) sum[k] += sum[k + width];
    }
  }
}

template <typename T>
struct Sum {
  [[gnu::always_inline]] static inline double run(const T* x, const ChannelLayout* layout,
                                                  std::size_t c) {
    double partial[1][kPartials];
    partial_sums(*layout, c, partial,
                 [&](std::size_t k, std::size_t i) { partial[0][k] += static_cast<double>(x[i]); });
    return partial[0][0];
  }
};

template <typename T>
struct CentredSquareSum {
  [[gnu::always_inline]] static inline double run(const T* x, const ChannelLayout* layout,
                                                  std::size_t c, double mean) {
    double partial[1][kPartials];
    partial_sums(*layout, c, partial, [&](std::size_t k, std::size_t i) {
      const double d = static_cast<double>(x[i]) - mean;
      partial[0][k] += d * d;
    });
    return partial[0][0];
  }
};

template <typename T>
struct ErrorSums {
  [[gnu::always_inline]] static inline void run(const T* x, const T* e, const ChannelLayout* layout,
                                                std::size_t c, double mean, double inv_std,
                                                double* sums) {
    double partial[2][kPartials];
    partial_sums(*layout, c, partial, [&](std::size_t k, std::size_t i) {
      const double error = static_cast<double>(e[i]);
      partial[0][k] += error;
      partial[1][k] += error * (static_cast<double>(x[i]) - mean) * inv_std;
    });
    sums[0] = partial[0][0];
    sums[1] = partial[1][0];
  }
};

template <typename T>
struct Affine {
  [[gnu::always_inline]] static inline void run(const T* x, T* y, const ChannelLayout* layout,
                                                std::size_t c, T factor, T offset) {
    for (std::size_t n = 0; n < layout->batch; ++n) {
      const std::size_t start = layout->plane(n, c);
      const T* in = x + start;
      T* out = y + start;
      for (std::size_t s = 0; s < layout->spatial; ++s) out[s] = factor * in[s] + offset;
    }
  }
};

template <typename T>
struct InputError {
  [[gnu::always_inline]] static inline void run(const T* x, const T* e, T* dx,
                                                const ChannelLayout* layout, std::size_t c,
                                                double mean, double k, double mean_error,
                                                double x_hat_weight) {
    for (std::size_t n = 0; n < layout->batch; ++n) {
      const std::size_t start = layout->plane(n, c);
      const T* in = x + start;
      const T* error = e + start;
      T* out = dx + start;
      for (std::size_t s = 0; s < layout->spatial; ++s) {
        const double centred = static_cast<double>(in[s]) - mean;
        out[s] = static_cast<T>(
            k * (static_cast<double>(error[s]) - mean_error - centred * x_hat_weight));
      }
    }
  }
};

#if defined(__x86_64__) || defined(__i386__)
template <typename Kernel, typename... Args>
[[gnu::target("avx512f")]] auto run_avx512(Args... args) {
  return Kernel::run(args...);
}
template <typename Kernel, typename... Args>
[[gnu::target("avx2")]] auto run_avx2(Args... args) {
  return Kernel::run(args...);
}
#endif

// Kernel::run on the widest instruction set the kernels use.
template <typename Kernel, typename... Args>
auto run_widest(Args... args) {
#if defined(__x86_64__) || defined(__i386__)
  const runtime::SimdLevel level = runtime::best_simd_level();
  if (level == runtime::SimdLevel::kAvx512) return run_avx512<Kernel>(args...);
  if (level == runtime::SimdLevel::kAvx2) return run_avx2<Kernel>(args...);
#endif
  return Kernel::run(args...);
}

}  // namespace

template <typename T>
double channel_sum(const T* x, const ChannelLayout& layout, std::size_t c) {
  return run_widest<Sum<T>>(x, &layout, c);
}

template <typename T>
double channel_centred_square_sum(const T* x, const ChannelLayout& layout, std::size_t c,
                                  double mean) {
  return run_widest<CentredSquareSum<T>>(x, &layout, c, mean);
}

template <typename T>
void channel_affine(const T* x, T* y, const ChannelLayout& layout, std::size_t c, T factor,
                    T offset) {
  run_widest<Affine<T>>(x, y, &layout, c, factor, offset);
}

template <typename T>
void channel_error_sums(const T* x, const T* e, const ChannelLayout& layout, std::size_t c,
                        double mean, double inv_std, double& error_sum, double& error_x_hat_sum) {
  double sums[2];
  run_widest<ErrorSums<T>>(x, e, &layout, c, mean, inv_std, &sums[0]);
  error_sum = sums[0];
  error_x_hat_sum = sums[1];
}

template <typename T>
void channel_input_error(const T* x, const T* e, T* dx, const ChannelLayout& layout, std::size_t c,
                         double mean, double k, double mean_error, double x_hat_weight) {
  run_widest<InputError<T>>(x, e, dx, &layout, c, mean, k, mean_error, x_hat_weight);
}

CNNKIT_BATCH_NORM_KERNELS(float, template)
CNNKIT_BATCH_NORM_KERNELS(double, template)

}  // namespace cnnkit::kernels
