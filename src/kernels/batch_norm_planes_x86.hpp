// The float BatchNorm kernels' loops over one plane in AVX-512 and AVX2 intrinsics
// (batch_norm_kernels.cpp): GCC's vector types of four floats widened to four doubles compiled to
// 128-bit halves passed through the stack, and the sums ran at a third of the speed of the memory.
// Each function does exactly the generic loops' arithmetic in the same order (value s into partial
// s mod 16, the partials of a sum stored in order: partial j in lane j mod 8 of vector j / 8, or
// lane j mod 4 of vector j / 4), so the bits are those of every other instruction set; it covers
// the whole blocks of 16 values and returns how many it did, the caller doing the tail. Include
// only from batch_norm_kernels.cpp, built with -ffp-contract=off: a multiply and an add stay two
// roundings, never a fused multiply-add.
#pragma once

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include <cstddef>

// GCC 12 reports its own _mm512_undefined_* behind the conversions as "may be used
// uninitialized" (GCC bug 105593, fixed in GCC 13), as in simd_kernels_avx512.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace cnnkit::kernels::batch_norm_planes {

// ---- AVX-512: 16 floats per step, each sum's 16 partials in two vectors of eight doubles.

[[gnu::target("avx512f")]] inline __m512d low_half(__m512 v) {
  return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}
[[gnu::target("avx512f")]] inline __m512d high_half(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}
// e where factor x + offset > 0, else +0 (the generic gate's select).
[[gnu::target("avx512f")]] inline __m512 gate_error(__m512 x, __m512 e, __m512 factor,
                                                    __m512 offset) {
  const __m512 y = _mm512_add_ps(_mm512_mul_ps(factor, x), offset);
  return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), e);
}

// The 16 partials of a sum (lanes of `low` then `high`) added pairwise as the generic loops do:
// partial k += partial k + 8, then k + 4, k + 2, k + 1.
[[gnu::target("avx512f")]] inline double pairwise(__m512d low, __m512d high) {
  const __m512d eight = _mm512_add_pd(low, high);
  const __m256d four =
      _mm256_add_pd(_mm512_castpd512_pd256(eight), _mm512_extractf64x4_pd(eight, 1));
  const __m128d two = _mm_add_pd(_mm256_castpd256_pd128(four), _mm256_extractf128_pd(four, 1));
  return _mm_cvtsd_f64(_mm_add_sd(two, _mm_unpackhi_pd(two, two)));
}

// The lanes of a block of 16 values that hold values: all, or the tail's first `left`.
inline __mmask16 block_mask(std::size_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1u);
}

// sums[0] = sum of d = x - by, sums[1] = sum of d^2: the tail's values go to their partials
// alone (masked adds), which is the generic loops' scalar tail.
[[gnu::target("avx512f")]] inline void shifted_avx512(const float* x, std::size_t spatial,
                                                      double by, double* sums) {
  const __m512d shift = _mm512_set1_pd(by);
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
  for (std::size_t s = 0; s < spatial; s += 16) {
    const __mmask16 lanes = block_mask(spatial - s);
    const auto low = static_cast<__mmask8>(lanes), high = static_cast<__mmask8>(lanes >> 8);
    const __m512 v = _mm512_maskz_loadu_ps(lanes, x + s);
    const __m512d d0 = _mm512_sub_pd(low_half(v), shift);
    const __m512d d1 = _mm512_sub_pd(high_half(v), shift);
    s0 = _mm512_mask_add_pd(s0, low, s0, d0);
    s1 = _mm512_mask_add_pd(s1, high, s1, d1);
    q0 = _mm512_mask_add_pd(q0, low, q0, _mm512_mul_pd(d0, d0));
    q1 = _mm512_mask_add_pd(q1, high, q1, _mm512_mul_pd(d1, d1));
  }
  sums[0] = pairwise(s0, s1);
  sums[1] = pairwise(q0, q1);
}

// sums[0] = sum of the (gated) error e, sums[1] = sum of e (x - m).
template <bool Gated>
[[gnu::target("avx512f")]] void error_avx512(const float* x, const float* e, std::size_t spatial,
                                             double m, float factor, float offset, double* sums) {
  const __m512d mean = _mm512_set1_pd(m);
  const __m512 a = _mm512_set1_ps(factor), b = _mm512_set1_ps(offset);
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, c0 = s0, c1 = s0;
  for (std::size_t s = 0; s < spatial; s += 16) {
    const __mmask16 lanes = block_mask(spatial - s);
    const auto low = static_cast<__mmask8>(lanes), high = static_cast<__mmask8>(lanes >> 8);
    const __m512 in = _mm512_maskz_loadu_ps(lanes, x + s);
    __m512 error = _mm512_maskz_loadu_ps(lanes, e + s);
    if constexpr (Gated) error = gate_error(in, error, a, b);
    const __m512d e0 = low_half(error), e1 = high_half(error);
    s0 = _mm512_mask_add_pd(s0, low, s0, e0);
    s1 = _mm512_mask_add_pd(s1, high, s1, e1);
    c0 = _mm512_mask_add_pd(c0, low, c0, _mm512_mul_pd(e0, _mm512_sub_pd(low_half(in), mean)));
    c1 = _mm512_mask_add_pd(c1, high, c1, _mm512_mul_pd(e1, _mm512_sub_pd(high_half(in), mean)));
  }
  sums[0] = pairwise(s0, s1);
  sums[1] = pairwise(c0, c1);
}

// ---- AVX2: 16 floats per step as two vectors of eight, each sum's 16 partials in four vectors
// of four doubles.

[[gnu::target("avx2")]] inline __m256d quarter(__m256 v, int which) {
  return _mm256_cvtps_pd(which == 0 ? _mm256_castps256_ps128(v) : _mm256_extractf128_ps(v, 1));
}
[[gnu::target("avx2")]] inline __m256 gate_error(__m256 x, __m256 e, __m256 factor, __m256 offset) {
  const __m256 y = _mm256_add_ps(_mm256_mul_ps(factor, x), offset);
  return _mm256_and_ps(_mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ), e);
}

[[gnu::target("avx2")]] inline std::size_t shifted_avx2(const float* x, std::size_t spatial,
                                                        double by, double* sum,
                                                        double* square_sum) {
  const __m256d shift = _mm256_set1_pd(by);
  __m256d sums[4], squares[4];
  for (int q = 0; q < 4; ++q) sums[q] = squares[q] = _mm256_setzero_pd();
  std::size_t s = 0;
  for (; s + 16 <= spatial; s += 16) {
    const __m256 v[2] = {_mm256_loadu_ps(x + s), _mm256_loadu_ps(x + s + 8)};
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const __m256d d = _mm256_sub_pd(quarter(v[q / 2], q % 2), shift);
      sums[q] = _mm256_add_pd(sums[q], d);
      squares[q] = _mm256_add_pd(squares[q], _mm256_mul_pd(d, d));
    }
  }
  for (int q = 0; q < 4; ++q) {
    _mm256_storeu_pd(sum + 4 * q, sums[q]);
    _mm256_storeu_pd(square_sum + 4 * q, squares[q]);
  }
  return s;
}

template <bool Gated>
[[gnu::target("avx2")]] std::size_t error_avx2(const float* x, const float* e, std::size_t spatial,
                                               double m, float factor, float offset, double* sum,
                                               double* centred_sum) {
  const __m256d mean = _mm256_set1_pd(m);
  const __m256 a = _mm256_set1_ps(factor), b = _mm256_set1_ps(offset);
  __m256d sums[4], centred[4];
  for (int q = 0; q < 4; ++q) sums[q] = centred[q] = _mm256_setzero_pd();
  std::size_t s = 0;
  for (; s + 16 <= spatial; s += 16) {
    const __m256 in[2] = {_mm256_loadu_ps(x + s), _mm256_loadu_ps(x + s + 8)};
    __m256 error[2] = {_mm256_loadu_ps(e + s), _mm256_loadu_ps(e + s + 8)};
    if constexpr (Gated) {
      error[0] = gate_error(in[0], error[0], a, b);
      error[1] = gate_error(in[1], error[1], a, b);
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      const __m256d wide = quarter(error[q / 2], q % 2);
      sums[q] = _mm256_add_pd(sums[q], wide);
      centred[q] = _mm256_add_pd(
          centred[q], _mm256_mul_pd(wide, _mm256_sub_pd(quarter(in[q / 2], q % 2), mean)));
    }
  }
  for (int q = 0; q < 4; ++q) {
    _mm256_storeu_pd(sum + 4 * q, sums[q]);
    _mm256_storeu_pd(centred_sum + 4 * q, centred[q]);
  }
  return s;
}

}  // namespace cnnkit::kernels::batch_norm_planes

#pragma GCC diagnostic pop

#endif
