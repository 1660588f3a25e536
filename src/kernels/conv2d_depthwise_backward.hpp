// The depthwise convolution's backward (see conv2d_depthwise.hpp), plane by plane: each
// (sample, channel) item, on whichever thread takes it, reads its input plane and its kernels'
// error planes once, in memory order like the forward. Sums, in a fixed order whatever the
// thread count:
//   weights/bias: per item and tap a vector of partial sums (lane l: the outputs j = l mod
//                 lanes) over output rows and chunks of a row in order, its lanes added in order
//                 into the item's partial; at the end, per kernel and tap, the items' partials
//                 added over the samples in order;
//   input error:  stride 1 with one kernel per channel: a forward convolution of the error,
//                 zero padded by span - 1 - pad, with the kernel turned by 180 degrees (taps in
//                 that order); otherwise the padded polyphase plane's interior rows, phase by
//                 phase (depthwise_input_error_phases), copied out.
// Include from conv2d_depthwise.hpp only.
#pragma once

namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE {

// Whether the input error runs as a forward convolution (depthwise_transposed): stride 1, one
// kernel per channel, padding within the span, a kernel whose taps are listed.
inline bool depthwise_gathers_input_error(const ConvGeometry& g) {
  return g.stride_y == 1 && g.stride_x == 1 && g.kernels == g.channels &&
         g.pad_y_before() < g.span_y() && g.pad_y_after() < g.span_y() &&
         g.pad_x_before() < g.span_x() && g.pad_x_after() < g.span_x() &&
         g.kernel_y * g.kernel_x <= kDepthwiseListedTaps;
}

// The geometry of that forward convolution: the error's plane as input, padded so that output
// (y, x) reads E[y + pad_top - u dy, x + pad_left - v dx] at tap (m - 1 - u, n - 1 - v).
inline ConvGeometry depthwise_transposed(const ConvGeometry& g) {
  ConvGeometry t = g;
  t.in_y = g.out_y();
  t.in_x = g.out_x();
  t.explicit_padding = true;
  t.pad_top = g.span_y() - 1 - g.pad_y_before();
  t.pad_bottom = g.span_y() - 1 - g.pad_y_after();
  t.pad_left = g.span_x() - 1 - g.pad_x_before();
  t.pad_right = g.span_x() - 1 - g.pad_x_after();
  return t;
}

inline constexpr std::size_t kDepthwiseSumLanes = 16;
inline std::size_t depthwise_error_row(const ConvGeometry& g) {
  return (g.out_x() + kDepthwiseSumLanes - 1) / kDepthwiseSumLanes * kDepthwiseSumLanes;
}
// The input error's error rows (depthwise_input_error_phases): `lead` zeros, then a row of E,
// zeros up to a polyphase row's phase and one vector more.
inline std::size_t depthwise_error_lead(const ConvGeometry& g) {
  return (g.kernel_x - 1) * g.dilation_x / g.stride_x;
}
inline std::size_t depthwise_phase_error_row(const ConvGeometry& g) {
  const std::size_t size = depthwise_error_lead(g) + DepthwisePlane<float>{g}.phase_x + 16;
  return (size + kDepthwiseSumLanes - 1) / kDepthwiseSumLanes * kDepthwiseSumLanes;
}

// Scratch per thread, in this order: the input's padded plane (the forward's only) and what
// chunks read past it; the input error's plane (the error's padded plane, or the input's
// polyphase plane); the channel's kernels' error rows padded to whole vectors of 16 (zero lanes
// past out_x); the input error's error rows; taps + 1 vectors of 16 partial sums. Zeroed once per
// call.
struct DepthwiseScratch {
  std::size_t input_plane, input_error_plane, error_rows, phase_error_rows, sums;

  explicit DepthwiseScratch(const ConvGeometry& g)
      : input_plane(DepthwisePlane<float>{g}.scratch_size()),
        input_error_plane(depthwise_gathers_input_error(g)
                              ? DepthwisePlane<float>{depthwise_transposed(g)}.scratch_size()
                              : input_plane),
        error_rows(g.kernels / g.channels * g.out_y() * depthwise_error_row(g)),
        phase_error_rows(depthwise_gathers_input_error(g)
                             ? 0
                             : g.kernels / g.channels * g.out_y() * depthwise_phase_error_row(g)),
        sums((g.kernel_y * g.kernel_x + 1) * kDepthwiseSumLanes) {}
  std::size_t zeroed() const {
    return input_plane + input_error_plane + error_rows + phase_error_rows;
  }
  std::size_t total() const { return zeroed() + sums; }
};
inline std::size_t depthwise_scratch(const ConvGeometry& g) {
  return DepthwiseScratch{g}.total();
}
// After the threads' scratch: the weight and bias partials of every (sample, kernel).
inline std::size_t depthwise_shared_scratch(const ConvGeometry& g) {
  return g.batch * g.kernels * (g.kernel_y * g.kernel_x + 1);
}

// sums[v] += X(i, u, v0 + v) E(i) lane by lane for v < Group, over the output rows i and the
// vectors of each padded error row (`e_row` apart) in order.
template <typename T, std::size_t Group>
void depthwise_weight_sums(const DepthwisePlane<T>& plane, const T* padded, const T* e,
                           std::size_t e_row, std::size_t u, std::size_t v0, T* sums) {
  typedef T Vector __attribute__((vector_size(kDepthwiseVectorBytes)));
  constexpr std::size_t kLanes = kDepthwiseVectorBytes / sizeof(T);
  Vector acc[Group];
  std::size_t offsets[Group];
  std::memcpy(acc, sums, sizeof(acc));
  for (std::size_t v = 0; v < Group; ++v) offsets[v] = plane.at(0, u, v0 + v);
  const std::size_t step = plane.g.stride_y * plane.row, out_y = plane.g.out_y();
  for (std::size_t i = 0; i < out_y; ++i) {
    const T* const base = padded + i * step;
    for (std::size_t j0 = 0; j0 < e_row; j0 += kLanes) {
      Vector ev;
      std::memcpy(&ev, e + i * e_row + j0, sizeof(Vector));
      for (std::size_t v = 0; v < Group; ++v) {
        Vector x;
        std::memcpy(&x, base + offsets[v] + j0, sizeof(Vector));
        acc[v] += x * ev;
      }
    }
  }
  std::memcpy(sums, acc, sizeof(acc));
}

// One kernel row u's taps, four at a time.
template <typename T>
void depthwise_weight_row(const DepthwisePlane<T>& plane, const T* padded, const T* e,
                          std::size_t e_row, std::size_t u, T* sums) {
  constexpr std::size_t kLanes = kDepthwiseVectorBytes / sizeof(T);
  const std::size_t n = plane.g.kernel_x;
  for (std::size_t v0 = 0; v0 < n; v0 += 4) {
    T* const at = sums + (u * n + v0) * kLanes;
    switch (std::min<std::size_t>(n - v0, 4)) {
      case 1:
        depthwise_weight_sums<T, 1>(plane, padded, e, e_row, u, v0, at);
        break;
      case 2:
        depthwise_weight_sums<T, 2>(plane, padded, e, e_row, u, v0, at);
        break;
      case 3:
        depthwise_weight_sums<T, 3>(plane, padded, e, e_row, u, v0, at);
        break;
      default:
        depthwise_weight_sums<T, 4>(plane, padded, e, e_row, u, v0, at);
        break;
    }
  }
}

// The input error of channel c, every sample's plane, where it is no forward convolution: the
// interior rows of the padded polyphase plane computed phase by phase, a vector at a time, then
// copied out (extract). Position k of phase p in padded row Y sums W_q[u, v] E_q[(Y - u dy) /
// sy, k - (v dx) / sx] over the channel's kernels q, then the u with Y - u dy a multiple of sy
// (a row of E), then the v with v dx = p (mod sx), in that order. `e` holds the kernels' error
// rows (depthwise_phase_error_row apart, copied there by depthwise_backward; the zeros around
// them make the lanes outside E add nothing). SY, SX: the strides when known at compile time (no
// division left), else 0.
template <typename T, std::size_t SY, std::size_t SX>
void depthwise_input_error_phases(const ConvGeometry& g, const DepthwisePlane<T>& plane,
                                  const T* weights, std::size_t c, T* padded, const T* e,
                                  T* input_error) {
  typedef T Vector __attribute__((vector_size(kDepthwiseVectorBytes)));
  constexpr std::size_t kLanes = kDepthwiseVectorBytes / sizeof(T);
  const std::size_t multiplier = g.kernels / g.channels, out_y = g.out_y();
  const std::size_t taps = g.kernel_y * g.kernel_x, lead = depthwise_error_lead(g);
  const std::size_t e_row = depthwise_phase_error_row(g);
  const std::size_t sx = SX > 0 ? SX : g.stride_x, sy = SY > 0 ? SY : g.stride_y;
  // rows(row, k0, body): body(W_q's row u, E_q's row (row - u dy) / sy from k0 on) for the
  // kernels q and the kernel rows u that feed padded row `row`, in that order.
  const auto rows = [&](std::size_t row, std::size_t k0, const auto& body) {
    for (std::size_t q = 0; q < multiplier; ++q) {
      const T* const w = weights + (c * multiplier + q) * taps;
      for (std::size_t u = 0; u < g.kernel_y && u * g.dilation_y <= row; ++u) {
        const std::size_t d = row - u * g.dilation_y;
        if (d % sy != 0 || d / sy >= out_y) continue;
        body(w + u * g.kernel_x, e + (q * out_y + d / sy) * e_row + lead + k0);
      }
    }
  };
  for (std::size_t y = 0; y < g.in_y; ++y) {
    const std::size_t row = y + g.pad_y_before();
    if constexpr (SX == 2) {
      // Both phases at once (dilation 1 across: the taps v = p, p + 2, ... feed phase p), two
      // independent sums.
      T* const target = padded + row * plane.row;
      for (std::size_t k0 = 0; k0 < plane.phase_x; k0 += kLanes) {
        Vector sums[2] = {};
        rows(row, k0, [&](const T* w, const T* e_at) {
#pragma GCC unroll 2
          for (std::size_t p = 0; p < 2; ++p) {
            for (std::size_t v = p; v < g.kernel_x; v += 2) {
              Vector x;
              std::memcpy(&x, e_at - v / 2, sizeof(Vector));
              sums[p] += w[v] * x;
            }
          }
        });
        std::memcpy(target + k0, &sums[0], sizeof(Vector));
        std::memcpy(target + plane.phase_x + k0, &sums[1], sizeof(Vector));
      }
      continue;
    }
    for (std::size_t p = 0; p < sx; ++p) {
      T* const target = padded + row * plane.row + p * plane.phase_x;
      for (std::size_t k0 = 0; k0 < plane.phase_x; k0 += kLanes) {
        Vector sums = {};
        rows(row, k0, [&](const T* w, const T* e_at) {
          for (std::size_t v = 0; v < g.kernel_x; ++v) {
            const std::size_t column = v * g.dilation_x;
            if (column % sx != p) continue;
            Vector x;
            std::memcpy(&x, e_at - column / sx, sizeof(Vector));
            sums += w[v] * x;
          }
        });
        std::memcpy(target + k0, &sums, sizeof(Vector));
      }
    }
  }
  plane.extract(padded, input_error);
}

template <typename T>
void depthwise_backward(const ConvGeometry& g, const T* input, const T* weights, const T* error,
                        T* input_error, T* weight_gradient, T* bias_gradient, T* scratch) {
  typedef T Vector __attribute__((vector_size(kDepthwiseVectorBytes)));
  constexpr std::size_t kLanes = kDepthwiseVectorBytes / sizeof(T);
  const DepthwisePlane<T> plane{g};
  const DepthwiseScratch parts{g};
  const std::size_t per_thread = parts.total(), multiplier = g.kernels / g.channels;
  const std::size_t out_y = g.out_y(), out_x = g.out_x(), out_size = out_y * out_x;
  const std::size_t taps = g.kernel_y * g.kernel_x, in_size = g.in_y * g.in_x;
  const std::size_t e_row = depthwise_error_row(g), threads = runtime::team_size();
  const bool gather = depthwise_gathers_input_error(g);
  const ConvGeometry transposed = gather ? depthwise_transposed(g) : g;
  const DepthwisePlane<T> error_plane{transposed};
  const DepthwiseOffsets<T> error_offsets{error_plane};
  T* const partials = scratch + threads * per_thread;
  for (std::size_t t = 0; t < threads; ++t) {
    std::fill(scratch + t * per_thread, scratch + t * per_thread + parts.zeroed(), T(0));
  }
  runtime::parallel_for(g.batch * g.channels, true, [&](std::size_t bc) {
    const std::size_t b = bc / g.channels, c = bc % g.channels;
    T* const padded = scratch + runtime::this_thread() * per_thread;
    T* const dx_plane = padded + parts.input_plane;
    T* const e = dx_plane + parts.input_error_plane;
    T* const phase_e = e + parts.error_rows;
    T* const sums = phase_e + parts.phase_error_rows;
    // The error rows first and the input plane next, so that no load of the sums below waits
    // on a store just before it; then the next item's planes on their way to the cache.
    const std::size_t phase_e_row = depthwise_phase_error_row(g), lead = depthwise_error_lead(g);
    for (std::size_t q = 0; q < multiplier; ++q) {
      const T* const e_plane = error + (b * g.kernels + c * multiplier + q) * out_size;
      for (std::size_t i = 0; i < out_y; ++i) {
        copy_short_row(e_plane + i * out_x, out_x, e + (q * out_y + i) * e_row);
        if (parts.phase_error_rows > 0 && input_error != nullptr) {
          copy_short_row(e_plane + i * out_x, out_x,
                         phase_e + (q * out_y + i) * phase_e_row + lead);
        }
      }
    }
    plane.fill(input + bc * in_size, padded);
    if (bc + 1 < g.batch * g.channels) {
      for (std::size_t at = 0; at < in_size; at += 64 / sizeof(T)) {
        __builtin_prefetch(input + (bc + 1) * in_size + at);
      }
    }
    for (std::size_t q = 0; q < multiplier; ++q) {
      const std::size_t k = c * multiplier + q;
      const T* const e_k = e + q * out_y * e_row;
      std::fill(sums, sums + (taps + 1) * kLanes, T(0));
      for (std::size_t u = 0; u < g.kernel_y; ++u) {
        depthwise_weight_row(plane, padded, e_k, e_row, u, sums);
      }
      Vector bias_sums = {};
      for (std::size_t j = 0; j < out_y * e_row; j += kLanes) {
        Vector ev;
        std::memcpy(&ev, e_k + j, sizeof(Vector));
        bias_sums += ev;
      }
      std::memcpy(sums + taps * kLanes, &bias_sums, sizeof(Vector));
      T* const partial = partials + (b * g.kernels + k) * (taps + 1);
      for (std::size_t t = 0; t <= taps; ++t) {
        T sum = 0;
        for (std::size_t l = 0; l < kLanes; ++l) sum += sums[t * kLanes + l];
        partial[t] = sum;
      }
    }
    if (input_error == nullptr) return;
    T* const dx = input_error + bc * in_size;
    if (gather) {
      T turned[kDepthwiseListedTaps];
      for (std::size_t t = 0; t < taps; ++t) turned[t] = weights[c * taps + taps - 1 - t];
      error_plane.fill(error + (b * g.kernels + c) * out_size, dx_plane);
      error_offsets.visit([&]<std::size_t Taps>(const auto& offset) {
        depthwise_plane<T, Taps>(transposed, error_plane, dx_plane, offset, turned, T(0), dx);
      });
      return;
    }
    const auto phases = [&]<std::size_t SY, std::size_t SX>() {
      depthwise_input_error_phases<T, SY, SX>(g, plane, weights, c, dx_plane, phase_e, dx);
    };
    // Both phases at once where each holds whole vectors (the stride-2 float plane).
    if (g.stride_y == 2 && g.stride_x == 2 && g.dilation_x == 1 && plane.phase_x % kLanes == 0) {
      return phases.template operator()<2, 2>();
    }
    if (g.stride_y == 1 && g.stride_x == 1) return phases.template operator()<1, 1>();
    phases.template operator()<0, 0>();
  });
  for (std::size_t k = 0; k < g.kernels; ++k) {
    for (std::size_t t = 0; t <= taps; ++t) {
      T sum = 0;
      for (std::size_t b = 0; b < g.batch; ++b)
        sum += partials[(b * g.kernels + k) * (taps + 1) + t];
      (t < taps ? weight_gradient[k * taps + t] : bias_gradient[k]) = sum;
    }
  }
}

}  // namespace cnnkit::kernels::CNNKIT_SIMD_NAMESPACE
