// AVX-512 register traits for the fast convolution kernels. Include only from a file compiled for
// AVX-512 (simd_kernels_avx512.cpp, after its `#pragma GCC target`); the dispatcher calls that code
// only on CPUs that report avx512f.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace cnnkit::kernels::avx512 {

struct Simd {
  using Reg = __m512;
  static constexpr int kLanes = 16;
  // 32 zmm registers: up to 28 accumulators leaves room for the weight vectors and a broadcast.
  static constexpr int kMaxAccumulators = 28;

  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  // p[0], p[1], p[0], p[1], ...: two neighbouring floats in every pair of lanes.
  static Reg broadcast_pair(const float* p) {
    double pair;
    std::memcpy(&pair, p, sizeof pair);
    return _mm512_castpd_ps(_mm512_set1_pd(pair));
  }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  // max(0, x) as ReLU's x > 0 ? x : 0, to the bit: max returns its second operand (+0) when
  // x is not greater (-0, NaN).
  static Reg rectify(Reg x) { return _mm512_max_ps(x, _mm512_setzero_ps()); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }

  static __mmask16 first(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  // Lanes [0, n) from p, zero above (nothing past p + n is read). A full, half or empty register
  // takes no masked access: masked loads and stores cost many cycles on some CPUs, and full and
  // half registers are the common cases.
  static Reg load_first(const float* p, int n) {
    if (n >= kLanes) return _mm512_loadu_ps(p);
    if (n <= 0) return zero();
    if (n == kLanes / 2) return _mm512_zextps256_ps512(_mm256_loadu_ps(p));
    return _mm512_maskz_loadu_ps(first(n), p);
  }
  // Lanes [0, n) to p (nothing past p + n is written).
  static void store_first(float* p, Reg v, int n) {
    if (n >= kLanes) return _mm512_storeu_ps(p, v);
    if (n == kLanes / 2) return _mm256_storeu_ps(p, _mm512_castps512_ps256(v));
    if (n > 0) _mm512_mask_storeu_ps(p, first(n), v);
  }

  // n <= 32 floats -> the (n + 1) / 2 at even positions and the n / 2 at odd positions.
  // Full (32) and half (16) inputs, the common row lengths, take a branch-free path of their own,
  // without the general path's masks and its second register.
  static void split_even_odd(const float* p, int n, float* even, float* odd) {
    const __m512i even_index =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd_index =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    if (n == 2 * kLanes) {
      const Reg a = load(p), b = load(p + kLanes);
      store(even, _mm512_permutex2var_ps(a, even_index, b));
      store(odd, _mm512_permutex2var_ps(a, odd_index, b));
      return;
    }
    if (n == kLanes) {
      const Reg a = load(p);
      _mm256_storeu_ps(even, _mm512_castps512_ps256(_mm512_permutexvar_ps(even_index, a)));
      _mm256_storeu_ps(odd, _mm512_castps512_ps256(_mm512_permutexvar_ps(odd_index, a)));
      return;
    }
    const Reg a = load_first(p, n < 16 ? n : 16), b = load_first(p + 16, n > 16 ? n - 16 : 0);
    store_first(even, _mm512_permutex2var_ps(a, even_index, b), (n + 1) / 2);
    store_first(odd, _mm512_permutex2var_ps(a, odd_index, b), n / 2);
  }

  // In-register 8x8 transpose of float pairs (64-bit elements): r[i] pair j -> r[j] pair i.
  static void transpose_pairs(Reg* r) {
    __m512d t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm512_unpacklo_pd(_mm512_castps_pd(r[i]), _mm512_castps_pd(r[i + 1]));
      t[i + 1] = _mm512_unpackhi_pd(_mm512_castps_pd(r[i]), _mm512_castps_pd(r[i + 1]));
    }
    for (int h = 0; h < 8; h += 4) {  // 128-bit pieces of rows h..h+3
      u[h] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0x88);
      u[h + 1] = _mm512_shuffle_f64x2(t[h], t[h + 2], 0xdd);
      u[h + 2] = _mm512_shuffle_f64x2(t[h + 1], t[h + 3], 0x88);
      u[h + 3] = _mm512_shuffle_f64x2(t[h + 1], t[h + 3], 0xdd);
    }
    // u[0]: pairs 0 and 4 of rows 0-3, u[1]: 2 and 6, u[2]: 1 and 5, u[3]: 3 and 7 (u[4..7]:
    // rows 4-7).
    r[0] = _mm512_castpd_ps(_mm512_shuffle_f64x2(u[0], u[4], 0x88));
    r[4] = _mm512_castpd_ps(_mm512_shuffle_f64x2(u[0], u[4], 0xdd));
    r[2] = _mm512_castpd_ps(_mm512_shuffle_f64x2(u[1], u[5], 0x88));
    r[6] = _mm512_castpd_ps(_mm512_shuffle_f64x2(u[1], u[5], 0xdd));
    r[1] = _mm512_castpd_ps(_mm512_shuffle_f64x2(u[2], u[6], 0x88));
    r[5] = _mm512_castpd_ps(_mm512_shuffle_f64x2(u[2], u[6], 0xdd));
    r[3] = _mm512_castpd_ps(_mm512_shuffle_f64x2(u[3], u[7], 0x88));
    r[7] = _mm512_castpd_ps(_mm512_shuffle_f64x2(u[3], u[7], 0xdd));
  }

  // In-register 16x16 transpose: r[i] lane j  ->  r[j] lane i.
  static void transpose(Reg* r) {
    Reg t[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
      r[i] =
          _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
      r[i + 1] =
          _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
      r[i + 2] = _mm512_castpd_ps(
          _mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
      r[i + 3] = _mm512_castpd_ps(
          _mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    for (int h = 0; h < 16; h += 8) {
      for (int i = 0; i < 4; ++i) {
        t[h + i] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0x88);
        t[h + i + 4] = _mm512_shuffle_f32x4(r[h + i], r[h + i + 4], 0xdd);
      }
    }
    for (int i = 0; i < 8; ++i) {
      r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
      r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
  }
  // A whole 16x16 tile loaded transposed: r[j] lane i = src[i * ld + j]. The quarters (4 floats)
  // of rows i, i + 4, i + 8, i + 12 go to the four 128-bit lanes of one register as they are
  // loaded, which leaves a 4x4 transpose within each lane: 48 inserts and 32 in-lane shuffles
  // where transpose() needs 64 shuffles, half of them across lanes, which cost more than in-lane
  // ones.
  static void load_transposed(const float* src, std::size_t ld, Reg* r) {
    for (int j = 0; j < 4; ++j) {
      Reg a[4];
      for (int i = 0; i < 4; ++i) {
        const float* quarter = src + i * ld + 4 * j;
        Reg v = _mm512_castps128_ps512(_mm_loadu_ps(quarter));
        v = _mm512_insertf32x4(v, _mm_loadu_ps(quarter + 4 * ld), 1);
        v = _mm512_insertf32x4(v, _mm_loadu_ps(quarter + 8 * ld), 2);
        a[i] = _mm512_insertf32x4(v, _mm_loadu_ps(quarter + 12 * ld), 3);
      }
      const __m512d t0 = _mm512_castps_pd(_mm512_unpacklo_ps(a[0], a[1]));
      const __m512d t1 = _mm512_castps_pd(_mm512_unpackhi_ps(a[0], a[1]));
      const __m512d t2 = _mm512_castps_pd(_mm512_unpacklo_ps(a[2], a[3]));
      const __m512d t3 = _mm512_castps_pd(_mm512_unpackhi_ps(a[2], a[3]));
      r[4 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
      r[4 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
      r[4 * j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
      r[4 * j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
  }
  // ---- for max pooling: int32 lanes of flat indices
  using IReg = __m512i;
  // start, start + step, start + 2*step, ...
  static IReg indices(int start, int step) {
    return _mm512_add_epi32(
        _mm512_set1_epi32(start),
        _mm512_mullo_epi32(_mm512_set1_epi32(step), _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                                                      10, 11, 12, 13, 14, 15)));
  }
  static IReg add(IReg a, int b) { return _mm512_add_epi32(a, _mm512_set1_epi32(b)); }
  // Where candidate > best (strict: the earlier maximum wins ties): take it and its index.
  static void keep_max(Reg& best, IReg& index, Reg candidate, IReg candidate_index) {
    const __mmask16 greater = _mm512_cmp_ps_mask(candidate, best, _CMP_GT_OQ);
    best = _mm512_mask_blend_ps(greater, best, candidate);
    index = _mm512_mask_blend_epi32(greater, index, candidate_index);
  }
  static void store_first(std::uint32_t* p, IReg v, int n) {
    if (n >= kLanes) return _mm512_storeu_si512(p, v);
    if (n > 0) _mm512_mask_storeu_epi32(p, first(n), v);
  }
  // The testing phase's maximum without the index: MAXPS returns its first operand only where it
  // is greater (strict, no NaN), which is keep_max's choice, bit for bit (-0 vs +0 included).
  static void keep_max(Reg& best, Reg candidate) { best = _mm512_max_ps(candidate, best); }
  // n <= 32 floats -> registers of the even- and odd-position ones.
  static void load_even_odd(const float* p, int n, Reg& even, Reg& odd) {
    const Reg a = load_first(p, n < 16 ? n : 16), b = load_first(p + 16, n > 16 ? n - 16 : 0);
    even = _mm512_permutex2var_ps(
        a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
    odd = _mm512_permutex2var_ps(
        a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  }
};

}  // namespace cnnkit::kernels::avx512
