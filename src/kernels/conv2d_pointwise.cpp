// The pointwise convolution kernels of conv2d_pointwise.hpp: per sample a copy of the kept pixels
// (strides above 1), then matrix products. Compiled for the baseline x86-64 CPU; the products
// call into the per-ISA small_gemm blocks (simd_kernels_avx512.cpp, simd_kernels_avx2.cpp).
#include "kernels/conv2d_pointwise.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <type_traits>

#include "kernels/conv2d_fast_plan.hpp"
#include "kernels/gemm.hpp"
#include "kernels/small_gemm.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit::kernels {

namespace {

// Below this many FLOPs a call stays on the calling thread: the team's meeting would cost more.
constexpr std::size_t kTeamFlops = std::size_t{1} << 18;

// Whether product() below runs on BLAS: double, or float without a SIMD level.
template <typename T>
bool on_blas(runtime::SimdLevel level) {
  return !std::is_same_v<T, float> || level == runtime::SimdLevel::kNone;
}

// C (m x n) = op(A) op(B), row-major, overwritten, with BLAS's meaning of the transposes and
// leading dimensions. float on small_gemm's blocks at `level` (each element one chain of FMAs
// over the reduction in order), otherwise BLAS.
template <typename T>
void product(runtime::SimdLevel level, Transpose ta, Transpose tb, std::size_t m, std::size_t n,
             std::size_t k, const T* a, std::size_t lda, const T* b, std::size_t ldb, T* c,
             std::size_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
#if defined(__x86_64__) || defined(__i386__)
    // small_gemm's strides: A(r, p) = a[r * a_row + p * a_depth], B(p, j) = b[p * b_row + j *
    // b_column].
    const bool a_t = ta == Transpose::kYes, b_t = tb == Transpose::kYes;
    const std::size_t a_row = a_t ? 1 : lda, a_depth = a_t ? lda : 1;
    const std::size_t b_row = b_t ? 1 : ldb, b_column = b_t ? ldb : 1;
    if (level == runtime::SimdLevel::kAvx512) {
      return detail::small_gemm_avx512(m, n, k, a, a_row, a_depth, b, b_row, b_column, nullptr, c,
                                       ldc);
    }
    if (level == runtime::SimdLevel::kAvx2) {
      return detail::small_gemm_avx2(m, n, k, a, a_row, a_depth, b, b_row, b_column, nullptr, c,
                                     ldc);
    }
#endif
  }
  (void)level;
  gemm<T>(ta, tb, m, n, k, T(1), a, lda, b, ldb, T(0), c, ldc);
}

// The kept pixels of one sample (C, Y, X) into (C, Y', X'): pixel (i, j) of (i*sy, j*sx).
template <typename T>
void keep_pixels(const ConvGeometry& g, const T* sample, T* kept) {
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  for (std::size_t c = 0; c < g.channels; ++c) {
    for (std::size_t i = 0; i < out_y; ++i) {
      const T* from = sample + (c * g.in_y + i * g.stride_y) * g.in_x;
      T* to = kept + (c * out_y + i) * out_x;
      for (std::size_t j = 0; j < out_x; ++j) to[j] = from[j * g.stride_x];
    }
  }
}

// The other way: (C, Y', X') onto the kept pixels of (C, Y, X), zeros everywhere else. One fill
// of the whole sample first: rows of a few dozen values filled one by one cost more in calls
// than in stores.
template <typename T>
void spread_pixels(const ConvGeometry& g, const T* kept, T* sample) {
  const std::size_t out_y = g.out_y(), out_x = g.out_x();
  std::fill(sample, sample + g.channels * g.in_y * g.in_x, T(0));
  for (std::size_t c = 0; c < g.channels; ++c) {
    for (std::size_t i = 0; i < out_y; ++i) {
      const T* from = kept + (c * out_y + i) * out_x;
      T* to = sample + (c * g.in_y + i * g.stride_y) * g.in_x;
      for (std::size_t j = 0; j < out_x; ++j) to[j * g.stride_x] = from[j];
    }
  }
}

// Asks for the cache lines of the rows of `sample` that the stride keeps, ahead of their use
// (the next sample's, while this one's products run): the copy then finds them in the cache.
template <typename T>
void prefetch_kept_rows(const ConvGeometry& g, const T* sample) {
  constexpr std::size_t kLine = 64 / sizeof(T);
  const std::size_t out_y = g.out_y();
  for (std::size_t c = 0; c < g.channels; ++c) {
    for (std::size_t i = 0; i < out_y; ++i) {
      const T* row = sample + (c * g.in_y + i * g.stride_y) * g.in_x;
      for (std::size_t x = 0; x < g.in_x; x += kLine) __builtin_prefetch(row + x);
      __builtin_prefetch(row + g.in_x - 1);
    }
  }
}

// The same for `count` values about to be read (for_writing false) or written.
template <typename T>
void prefetch_range(const T* values, std::size_t count, bool for_writing) {
  constexpr std::size_t kLine = 64 / sizeof(T);
  for (std::size_t i = 0; i < count; i += kLine) {
    if (for_writing) {
      __builtin_prefetch(values + i, 1);
    } else {
      __builtin_prefetch(values + i, 0);
    }
  }
}

bool strided(const ConvGeometry& g) {
  return g.stride_y != 1 || g.stride_x != 1;
}

// The sum of n values in a fixed order: eight running sums (value p into sum p mod 8), added
// in order at the end, then the tail; eight chains the compiler may keep in one vector.
template <typename T>
T sum_of(const T* values, std::size_t n) {
  constexpr std::size_t kChains = 8;
  T chains[kChains] = {};
  std::size_t p = 0;
  for (; p + kChains <= n; p += kChains) {
    for (std::size_t l = 0; l < kChains; ++l) chains[l] += values[p + l];
  }
  T sum = 0;
  for (const T chain : chains) sum += chain;
  for (; p < n; ++p) sum += values[p];
  return sum;
}

// Scratch regions of `count` values rounded up to 16 (64 bytes of float), side by side.
std::size_t padded(std::size_t count) {
  return (count + 15) / 16 * 16;
}

template <typename T>
bool covers(const ConvGeometry& g, runtime::SimdLevel level) {
  if (!is_pointwise(g)) return false;
  return !std::is_same_v<T, float> || level <= runtime::best_simd_level();
}

}  // namespace

bool is_pointwise(const ConvGeometry& g) {
  return g.groups == 1 && g.kernel_y == 1 && g.kernel_x == 1 && g.pad_y_before() == 0 &&
         g.pad_y_after() == 0 && g.pad_x_before() == 0 && g.pad_x_after() == 0 && g.batch > 0 &&
         g.channels > 0 && g.kernels > 0 && g.in_y > 0 && g.in_x > 0 && g.stride_y > 0 &&
         g.stride_x > 0;
}

std::size_t pointwise_gradient_groups(const ConvGeometry& g) {
  const std::size_t pixels = g.out_y() * g.out_x();
  const std::size_t enough_pixels =
      std::bit_floor(std::max<std::size_t>(1, g.batch * pixels / 128));
  return std::max<std::size_t>(1, std::min({g.batch, kFastGradientGroups, enough_pixels}));
}

template <typename T>
bool conv2d_forward_pointwise(const ConvGeometry& geometry, const T* input, const T* weights,
                              const T* bias, T* output, std::vector<T>& workspace,
                              runtime::SimdLevel level) {
  if (!covers<T>(geometry, level)) return false;
  // 1-D along y as one row per plane: the copies then move rows, not single values.
  const ConvGeometry g = as_rows(geometry);
  const std::size_t pixels = g.out_y() * g.out_x(), sample_size = g.channels * g.in_y * g.in_x;
  const std::size_t slice = strided(g) ? padded(g.channels * pixels) : 0;
  if (workspace.size() < slice * runtime::team_size()) {
    workspace.resize(slice * runtime::team_size());
  }
  runtime::parallel_for(g.batch, g.forward_flops() >= kTeamFlops, [&](std::size_t b) {
    const T* kept = input + b * sample_size;
    if (strided(g)) {
      T* own = workspace.data() + runtime::this_thread() * slice;
      keep_pixels(g, kept, own);
      kept = own;
      if (b + 1 < g.batch) prefetch_kept_rows(g, input + (b + 1) * sample_size);
    }
    if (b + 1 < g.batch)
      prefetch_range(output + (b + 1) * g.kernels * pixels, g.kernels * pixels, true);
    T* out = output + b * g.kernels * pixels;
    if (on_blas<T>(level)) {
      // BLAS adds the product to what C holds: the bias first, no second pass.
      for (std::size_t k = 0; k < g.kernels; ++k) {
        std::fill(out + k * pixels, out + (k + 1) * pixels, bias[k]);
      }
      gemm<T>(Transpose::kNo, Transpose::kNo, g.kernels, pixels, g.channels, T(1), weights,
              g.channels, kept, pixels, T(1), out, pixels);
      return;
    }
    product<T>(level, Transpose::kNo, Transpose::kNo, g.kernels, pixels, g.channels, weights,
               g.channels, kept, pixels, out, pixels);
    for (std::size_t k = 0; k < g.kernels; ++k) {
      T* row = out + k * pixels;
      for (std::size_t p = 0; p < pixels; ++p) row[p] += bias[k];
    }
  });
  return true;
}

template <typename T>
bool conv2d_backward_pointwise(const ConvGeometry& geometry, const T* input, const T* weights,
                               const T* error, T* input_error, T* weight_gradient, T* bias_gradient,
                               std::vector<T>& workspace, runtime::SimdLevel level) {
  if (!covers<T>(geometry, level)) return false;
  // 1-D along y as one row per plane: the copies then move rows, not single values.
  const ConvGeometry g = as_rows(geometry);
  const std::size_t pixels = g.out_y() * g.out_x(), sample_size = g.channels * g.in_y * g.in_x;
  const std::size_t weight_count = g.kernels * g.channels;
  const std::size_t groups = pointwise_gradient_groups(g);
  // Per thread: the kept pixels of X_b, those of E_{n-1,b} (strides above 1), one sample's
  // E_b X_b^T; per group: its partial weight and bias gradients.
  const bool copies = strided(g);
  const std::size_t kept_size = copies ? padded(g.channels * pixels) : 0;
  const std::size_t per_thread = 2 * kept_size + padded(weight_count);
  const std::size_t per_group = padded(weight_count) + padded(g.kernels);
  const std::size_t threads = runtime::team_size();
  const std::size_t total = per_thread * threads + per_group * groups;
  if (workspace.size() < total) workspace.resize(total);
  T* const partials = workspace.data() + per_thread * threads;

  runtime::parallel_for(groups, g.forward_flops() >= kTeamFlops, [&](std::size_t group) {
    T* const own = workspace.data() + runtime::this_thread() * per_thread;
    T* const kept_input = own;
    T* const kept_error = own + kept_size;
    T* const sample_gradient = own + 2 * kept_size;
    T* const weight_partial = partials + group * per_group;
    T* const bias_partial = weight_partial + padded(weight_count);
    const std::size_t b0 = runtime::share(g.batch, groups, group);
    const std::size_t b1 = runtime::share(g.batch, groups, group + 1);
    for (std::size_t b = b0; b < b1; ++b) {
      const T* error_b = error + b * g.kernels * pixels;
      const T* kept = input + b * sample_size;
      if (copies) {
        keep_pixels(g, kept, kept_input);
        kept = kept_input;
        if (b + 1 < b1) prefetch_kept_rows(g, input + (b + 1) * sample_size);
      }
      if (b + 1 < b1) {
        prefetch_range(error_b + g.kernels * pixels, g.kernels * pixels, false);
        if (input_error != nullptr) {
          prefetch_range(input_error + (b + 1) * sample_size, sample_size, true);
        }
      }
      // grad W += E_b (K x P') X_b^T: X_b read as the transpose of B (small_gemm packs it in
      // register tiles). The group's first sample writes the partial itself.
      T* const into = b == b0 ? weight_partial : sample_gradient;
      product<T>(level, Transpose::kNo, Transpose::kYes, g.kernels, g.channels, pixels, error_b,
                 pixels, kept, pixels, into, g.channels);
      for (std::size_t k = 0; k < g.kernels; ++k) {
        const T sum = sum_of(error_b + k * pixels, pixels);
        bias_partial[k] = b == b0 ? sum : bias_partial[k] + sum;
      }
      if (b != b0) {
        for (std::size_t i = 0; i < weight_count; ++i) weight_partial[i] += sample_gradient[i];
      }
      if (input_error == nullptr) continue;  // not wanted (the first layer of a network)
      // E_{n-1,b} = W^T (C x K, W read transposed) E_b, onto the kept pixels.
      T* const sample_error = input_error + b * sample_size;
      product<T>(level, Transpose::kYes, Transpose::kNo, g.channels, pixels, g.kernels, weights,
                 g.channels, error_b, pixels, copies ? kept_error : sample_error, pixels);
      if (copies) spread_pixels(g, kept_error, sample_error);
    }
  });

  // The partials added in group order.
  for (std::size_t group = 0; group < groups; ++group) {
    const T* weight_partial = partials + group * per_group;
    const T* bias_partial = weight_partial + padded(weight_count);
    if (group == 0) {
      std::copy(weight_partial, weight_partial + weight_count, weight_gradient);
      std::copy(bias_partial, bias_partial + g.kernels, bias_gradient);
      continue;
    }
    for (std::size_t i = 0; i < weight_count; ++i) weight_gradient[i] += weight_partial[i];
    for (std::size_t k = 0; k < g.kernels; ++k) bias_gradient[k] += bias_partial[k];
  }
  return true;
}

template bool conv2d_forward_pointwise<float>(const ConvGeometry&, const float*, const float*,
                                              const float*, float*, std::vector<float>&,
                                              runtime::SimdLevel);
template bool conv2d_forward_pointwise<double>(const ConvGeometry&, const double*, const double*,
                                               const double*, double*, std::vector<double>&,
                                               runtime::SimdLevel);
template bool conv2d_backward_pointwise<float>(const ConvGeometry&, const float*, const float*,
                                               const float*, float*, float*, float*,
                                               std::vector<float>&, runtime::SimdLevel);
template bool conv2d_backward_pointwise<double>(const ConvGeometry&, const double*, const double*,
                                                const double*, double*, double*, double*,
                                                std::vector<double>&, runtime::SimdLevel);

}  // namespace cnnkit::kernels
