// The fast BatchNorm kernels (batch_norm_kernels.hpp): loops in a fixed order, the sums on GCC's
// vector types (four doubles), one copy per instruction set (as adam.cpp), chosen at run time;
// the sums of float planes on AVX2 and AVX-512 in intrinsics (batch_norm_planes_x86.hpp), with
// the same arithmetic in the same order.
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "kernels/batch_norm_kernels.hpp"
#include "kernels/batch_norm_planes_x86.hpp"
#include "runtime/simd_level.hpp"

namespace cnnkit::kernels {

namespace {

// Partial sums per running sum, held in kQuarters vectors of four doubles: partial k is lane
// k mod 4 of vector k / 4.
constexpr std::size_t kPartials = 16;
constexpr std::size_t kLanes = 4;
constexpr std::size_t kQuarters = kPartials / kLanes;

using Doubles = double __attribute__((vector_size(kLanes * sizeof(double))));
template <typename T>
struct LanesOf;
template <>
struct LanesOf<float> {
  using type = float __attribute__((vector_size(kLanes * sizeof(float))));
};
template <>
struct LanesOf<double> {
  using type = Doubles;
};
template <typename T>
using Lanes = typename LanesOf<T>::type;  // four values of T

// kPartials values of T from `from` (unaligned), in kQuarters vectors.
template <typename T>
[[gnu::always_inline]] inline void load(const T* from, Lanes<T> (&to)[kQuarters]) {
  std::memcpy(&to, from, sizeof to);
}

// Each quarter's values in double (exact).
template <typename T>
[[gnu::always_inline]] inline void widen(const Lanes<T> (&from)[kQuarters],
                                         Doubles (&to)[kQuarters]) {
#pragma GCC unroll 4
  for (std::size_t q = 0; q < kQuarters; ++q) to[q] = __builtin_convertvector(from[q], Doubles);
}

// e becomes 0 where the gate's y = factor x + offset is not above 0 (ReLU's mask); no gate:
// unchanged. V is Lanes<T> or T (by reference: vector return values would change the ABI of the
// copy built without AVX).
template <typename V, typename T>
[[gnu::always_inline]] inline void gate_error(const V& x, V& e, bool gate, T factor, T offset) {
  if (!gate) return;
  const V y = factor * x + offset;
  e = y > T(0) ? e : V{};
}

// The instruction set a kernel's copy is compiled for: float planes on AVX2 and AVX-512 run the
// intrinsics of batch_norm_planes_x86.hpp, everything else the generic loops below.
enum class Isa { kGeneric, kAvx2, kAvx512 };

template <typename T, Isa I>
constexpr bool kIntrinsics = std::is_same_v<T, float>&& I != Isa::kGeneric;

// Two running sums over a plane of `spatial` values: for value s, step(x[s], e[s], sum0, sum1)
// adds to partial s mod kPartials of both, in double (x and e widened from T, after
// prepare(x, e) changed e in T); then each sum's partials are added pairwise into sums[0] and
// sums[1]. step and prepare are generic lambdas, called on vectors and on single values.
// `blocks(partial)` does the whole blocks of kPartials values into the partials and returns how
// many values it did (vector_blocks below, or an intrinsics loop); this does the tail.
template <typename T, typename Blocks, typename Prepare, typename Step>
[[gnu::always_inline]] inline void plane_sums(const T* x, const T* e, std::size_t spatial,
                                              Blocks blocks, Prepare prepare, Step step,
                                              double* sums) {
  double partial[2][kPartials];
  const std::size_t s = blocks(partial);
  for (std::size_t k = 0; s + k < spatial; ++k) {
    T prepared = e[s + k];
    prepare(x[s + k], prepared);
    step(static_cast<double>(x[s + k]), static_cast<double>(prepared), partial[0][k],
         partial[1][k]);
  }
  for (auto& sum : partial) {
    for (std::size_t width = kPartials / 2; width > 0; width /= 2) {
      for (std::size_t k = 0; k < width; ++k) sum[k] += sum[k + width];
    }
  }
  sums[0] = partial[0][0];
  sums[1] = partial[1][0];
}

// plane_sums' whole blocks on GCC's vector types.
template <typename T, typename Prepare, typename Step>
[[gnu::always_inline]] inline std::size_t vector_blocks(const T* x, const T* e, std::size_t spatial,
                                                        Prepare prepare, Step step,
                                                        double (&partial)[2][kPartials]) {
  Doubles sum0[kQuarters] = {}, sum1[kQuarters] = {};
  std::size_t s = 0;
  for (; s + kPartials <= spatial; s += kPartials) {
    Lanes<T> x_lanes[kQuarters], e_lanes[kQuarters];
    load(x + s, x_lanes);
    load(e + s, e_lanes);
#pragma GCC unroll 4
    for (std::size_t q = 0; q < kQuarters; ++q) prepare(x_lanes[q], e_lanes[q]);
    Doubles x_wide[kQuarters], e_wide[kQuarters];
    widen<T>(x_lanes, x_wide);
    widen<T>(e_lanes, e_wide);
#pragma GCC unroll 4
    for (std::size_t q = 0; q < kQuarters; ++q) step(x_wide[q], e_wide[q], sum0[q], sum1[q]);
  }
  std::memcpy(partial[0], sum0, sizeof sum0);
  std::memcpy(partial[1], sum1, sizeof sum1);
  return s;
}

// body(p, c) for the planes p of the range in order, c the plane's channel, counted along: a
// division per plane cost as much as the sums of a small plane.
template <typename Body>
[[gnu::always_inline]] inline void for_planes(const PlaneRange& range, Body body) {
  std::size_t c = range.begin % range.channels;
  for (std::size_t p = range.begin; p < range.end; ++p) {
    body(p, c);
    if (++c == range.channels) c = 0;
  }
}

template <typename T>
struct ShiftedSums {
  template <Isa I>
  [[gnu::always_inline]] static inline void run(const T* x, const double* shift,
                                                const PlaneRange* range, double* sums) {
    const auto prepare = [](const auto&, auto&) {};
    for_planes(*range, [&](std::size_t p, std::size_t c) {
      const T* plane = x + p * range->spatial;
      const double by = shift[c];
      const auto step = [by](const auto& value, const auto&, auto& sum, auto& square_sum) {
        const auto d = value - by;
        sum += d;
        square_sum += d * d;
      };
#if defined(__x86_64__) || defined(__i386__)
      if constexpr (kIntrinsics<T, I> && I == Isa::kAvx512) {
        batch_norm_planes::shifted_avx512(plane, range->spatial, by, sums + 2 * p);
        return;
      }
#endif
      const auto blocks = [&](double(&partial)[2][kPartials]) -> std::size_t {
#if defined(__x86_64__) || defined(__i386__)
        if constexpr (kIntrinsics<T, I>) {
          return batch_norm_planes::shifted_avx2(plane, range->spatial, by, partial[0], partial[1]);
        }
#endif
        return vector_blocks(plane, plane, range->spatial, prepare, step, partial);
      };
      plane_sums(plane, plane, range->spatial, blocks, prepare, step, sums + 2 * p);
    });
  }
};

template <typename T>
struct ErrorSums {
  template <Isa I, bool Gated>
  [[gnu::always_inline]] static inline void plane(const T* x, const T* e, std::size_t spatial,
                                                  double m, T factor, T offset, double* sums) {
    const auto prepare = [=](const auto& in, auto& error) {
      gate_error(in, error, Gated, factor, offset);
    };
    const auto step = [m](const auto& in, const auto& error, auto& sum, auto& centred_sum) {
      sum += error;
      centred_sum += error * (in - m);
    };
#if defined(__x86_64__) || defined(__i386__)
    if constexpr (kIntrinsics<T, I> && I == Isa::kAvx512) {
      return batch_norm_planes::error_avx512<Gated>(x, e, spatial, m, factor, offset, sums);
    }
#endif
    const auto blocks = [&](double(&partial)[2][kPartials]) -> std::size_t {
#if defined(__x86_64__) || defined(__i386__)
      if constexpr (kIntrinsics<T, I>) {
        return batch_norm_planes::error_avx2<Gated>(x, e, spatial, m, factor, offset, partial[0],
                                                    partial[1]);
      }
#endif
      return vector_blocks(x, e, spatial, prepare, step, partial);
    };
    plane_sums(x, e, spatial, blocks, prepare, step, sums);
  }

  template <Isa I>
  [[gnu::always_inline]] static inline void run(const T* x, const T* e, const double* mean,
                                                const ReluGate<T>* gate, const PlaneRange* range,
                                                double* sums) {
    const bool gated_error = gate->factor != nullptr;
    for_planes(*range, [&](std::size_t p, std::size_t c) {
      const std::size_t start = p * range->spatial;
      if (gated_error) {
        plane<I, true>(x + start, e + start, range->spatial, mean[c], gate->factor[c],
                       gate->offset[c], sums + 2 * p);
      } else {
        plane<I, false>(x + start, e + start, range->spatial, mean[c], T(0), T(0), sums + 2 * p);
      }
    });
  }
};

template <typename T>
struct Affine {
  template <Isa>
  [[gnu::always_inline]] static inline void run(const T* x, T* y, const T* factor, const T* offset,
                                                bool rectify, const PlaneRange* range) {
    for_planes(*range, [&](std::size_t p, std::size_t c) {
      const T a = factor[c], b = offset[c];
      const T* in = x + p * range->spatial;
      T* out = y + p * range->spatial;
      if (rectify) {
        for (std::size_t s = 0; s < range->spatial; ++s) {
          const T value = a * in[s] + b;
          out[s] = value > T(0) ? value : T(0);
        }
      } else {
        for (std::size_t s = 0; s < range->spatial; ++s) out[s] = a * in[s] + b;
      }
    });
  }
};

template <typename T>
struct InputError {
  // One plane, with the gate's test compiled in or out: a test of `gated` inside the loop kept
  // the loop scalar, with a branch.
  template <bool Gated>
  [[gnu::always_inline]] static inline void plane(const T* in, const T* error, T* out,
                                                  std::size_t spatial, double m, double kc,
                                                  double me, double w, T factor, T offset) {
    for (std::size_t s = 0; s < spatial; ++s) {
      const double centred = static_cast<double>(in[s]) - m;
      T passed = error[s];
      gate_error(in[s], passed, Gated, factor, offset);
      out[s] = static_cast<T>(kc * (static_cast<double>(passed) - me - centred * w));
    }
  }

  template <Isa>
  [[gnu::always_inline]] static inline void run(const T* x, const T* e, T* dx, const double* mean,
                                                const double* k, const double* mean_error,
                                                const double* x_hat_weight, const ReluGate<T>* gate,
                                                const PlaneRange* range) {
    const bool gated_error = gate->factor != nullptr;
    for_planes(*range, [&](std::size_t p, std::size_t c) {
      const std::size_t start = p * range->spatial;
      if (gated_error) {
        plane<true>(x + start, e + start, dx + start, range->spatial, mean[c], k[c], mean_error[c],
                    x_hat_weight[c], gate->factor[c], gate->offset[c]);
      } else {
        plane<false>(x + start, e + start, dx + start, range->spatial, mean[c], k[c], mean_error[c],
                     x_hat_weight[c], T(0), T(0));
      }
    });
  }
};

#if defined(__x86_64__) || defined(__i386__)
template <typename Kernel, typename... Args>
[[gnu::target("avx512f")]] void run_avx512(Args... args) {
  Kernel::template run<Isa::kAvx512>(args...);
}
template <typename Kernel, typename... Args>
[[gnu::target("avx2")]] void run_avx2(Args... args) {
  Kernel::template run<Isa::kAvx2>(args...);
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
  Kernel::template run<Isa::kGeneric>(args...);
}

}  // namespace

template <typename T>
void shifted_sums(const T* x, const double* shift, const PlaneRange& range, double* sums) {
  run_widest<ShiftedSums<T>>(x, shift, &range, sums);
}

template <typename T>
void error_sums(const T* x, const T* e, const double* mean, const ReluGate<T>& gate,
                const PlaneRange& range, double* sums) {
  run_widest<ErrorSums<T>>(x, e, mean, &gate, &range, sums);
}

template <typename T>
void affine(const T* x, T* y, const T* factor, const T* offset, bool rectify,
            const PlaneRange& range) {
  run_widest<Affine<T>>(x, y, factor, offset, rectify, &range);
}

template <typename T>
void input_error(const T* x, const T* e, T* dx, const double* mean, const double* k,
                 const double* mean_error, const double* x_hat_weight, const ReluGate<T>& gate,
                 const PlaneRange& range) {
  run_widest<InputError<T>>(x, e, dx, mean, k, mean_error, x_hat_weight, &gate, &range);
}

CNNKIT_BATCH_NORM_KERNELS(float, template)
CNNKIT_BATCH_NORM_KERNELS(double, template)

}  // namespace cnnkit::kernels
