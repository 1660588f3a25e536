// AVX2 + FMA register traits for the fast convolution kernels. Include only from a file compiled
// for AVX2 (simd_kernels_avx2.cpp, after its `#pragma GCC target`); the dispatcher calls that code
// only on CPUs that report avx2 and fma.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace cnnkit::kernels::avx2 {

struct Simd {
  using Reg = __m256;
  static constexpr int kLanes = 8;
  // 16 ymm registers: 12 accumulators leave room for weights and a broadcast.
  static constexpr int kMaxAccumulators = 12;

  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static Reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  // p[0], p[1], p[0], p[1], ...: two neighbouring floats in every pair of lanes.
  static Reg broadcast_pair(const float* p) {
    double pair;
    std::memcpy(&pair, p, sizeof pair);
    return _mm256_castpd_ps(_mm256_set1_pd(pair));
  }
  static Reg set1(float x) { return _mm256_set1_ps(x); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  // max(0, x) as ReLU's x > 0 ? x : 0, to the bit: max returns its second operand (+0) when
  // x is not greater (-0, NaN).
  static Reg rectify(Reg x) { return _mm256_max_ps(x, _mm256_setzero_ps()); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }

  static __m256i first(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  // Lanes [0, n) (nothing past p + n is touched). Full and empty registers take no masked
  // access, which is slow on some CPUs (see simd_avx512.hpp).
  static Reg load_first(const float* p, int n) {
    if (n >= kLanes) return _mm256_loadu_ps(p);
    if (n <= 0) return _mm256_setzero_ps();
    return _mm256_maskload_ps(p, first(n));
  }
  // Stores lanes [0, n) as at most three plain stores of 4, 2 and 1 floats: a masked store
  // (vmaskmovps) costs AMD's cores many cycles, where a masked load does not.
  static void store_first(float* p, Reg v, int n) {
    if (n >= kLanes) return _mm256_storeu_ps(p, v);
    __m128 part = _mm256_castps256_ps128(v);
    if (n >= 4) {
      _mm_storeu_ps(p, part);
      part = _mm256_extractf128_ps(v, 1);
      p += 4;
      n -= 4;
    }
    if (n >= 2) {
      _mm_storel_pi(reinterpret_cast<__m64*>(p), part);
      part = _mm_movehl_ps(part, part);
      p += 2;
      n -= 2;
    }
    if (n == 1) _mm_store_ss(p, part);
  }

  // n <= 16 floats -> the (n + 1) / 2 at even positions and the n / 2 at odd positions.
  static void split_even_odd(const float* p, int n, float* even, float* odd) {
    const Reg a = load_first(p, n < 8 ? n : 8), b = load_first(p + 8, n > 8 ? n - 8 : 0);
    // Within each 128-bit half: a0 a2 b0 b2 | a4 a6 b4 b6, then fix the order of the 64-bit pairs.
    const Reg e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xdd);
    store_first(even, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8)),
                (n + 1) / 2);
    store_first(odd, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xd8)), n / 2);
  }

  // In-register 4x4 transpose of float pairs (64-bit elements): r[i] pair j -> r[j] pair i.
  static void transpose_pairs(Reg* r) {
    const __m256d t0 = _mm256_unpacklo_pd(_mm256_castps_pd(r[0]), _mm256_castps_pd(r[1]));
    const __m256d t1 = _mm256_unpackhi_pd(_mm256_castps_pd(r[0]), _mm256_castps_pd(r[1]));
    const __m256d t2 = _mm256_unpacklo_pd(_mm256_castps_pd(r[2]), _mm256_castps_pd(r[3]));
    const __m256d t3 = _mm256_unpackhi_pd(_mm256_castps_pd(r[2]), _mm256_castps_pd(r[3]));
    r[0] = _mm256_castpd_ps(_mm256_permute2f128_pd(t0, t2, 0x20));
    r[1] = _mm256_castpd_ps(_mm256_permute2f128_pd(t1, t3, 0x20));
    r[2] = _mm256_castpd_ps(_mm256_permute2f128_pd(t0, t2, 0x31));
    r[3] = _mm256_castpd_ps(_mm256_permute2f128_pd(t1, t3, 0x31));
  }

  // In-register 8x8 transpose: r[i] lane j  ->  r[j] lane i.
  static void transpose(Reg* r) {
    Reg t[8], s[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
      s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (int i = 0; i < 4; ++i) {
      r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
      r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
  }
  // A whole 8x8 tile loaded transposed: r[j] lane i = src[i * ld + j]. The halves (4 floats) of
  // rows i and i + 4 go to the two 128-bit lanes of one register as they are loaded, which
  // leaves a 4x4 transpose within each lane (no shuffle across lanes; see the AVX-512 one).
  static void load_transposed(const float* src, std::size_t ld, Reg* r) {
    for (int j = 0; j < 2; ++j) {
      Reg a[4];
      for (int i = 0; i < 4; ++i) {
        const float* half = src + i * ld + 4 * j;
        a[i] = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(half)),
                                    _mm_loadu_ps(half + 4 * ld), 1);
      }
      const __m256d t0 = _mm256_castps_pd(_mm256_unpacklo_ps(a[0], a[1]));
      const __m256d t1 = _mm256_castps_pd(_mm256_unpackhi_ps(a[0], a[1]));
      const __m256d t2 = _mm256_castps_pd(_mm256_unpacklo_ps(a[2], a[3]));
      const __m256d t3 = _mm256_castps_pd(_mm256_unpackhi_ps(a[2], a[3]));
      r[4 * j] = _mm256_castpd_ps(_mm256_unpacklo_pd(t0, t2));
      r[4 * j + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(t0, t2));
      r[4 * j + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(t1, t3));
      r[4 * j + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(t1, t3));
    }
  }
  // ---- for max pooling: int32 lanes of flat indices
  using IReg = __m256i;
  static IReg indices(int start, int step) {
    return _mm256_add_epi32(
        _mm256_set1_epi32(start),
        _mm256_mullo_epi32(_mm256_set1_epi32(step), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  }
  static IReg add(IReg a, int b) { return _mm256_add_epi32(a, _mm256_set1_epi32(b)); }
  // Where candidate > best (strict: the earlier maximum wins ties): take it and its index.
  static void keep_max(Reg& best, IReg& index, Reg candidate, IReg candidate_index) {
    const Reg greater = _mm256_cmp_ps(candidate, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, candidate, greater);
    index = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(index),
                                                 _mm256_castsi256_ps(candidate_index), greater));
  }
  static void store_first(std::uint32_t* p, IReg v, int n) {
    // As the float store_first (the store intrinsics may alias any type).
    store_first(reinterpret_cast<float*>(p), _mm256_castsi256_ps(v), n);
  }
  // The testing phase's maximum without the index: MAXPS returns its first operand only where it
  // is greater (strict, no NaN), which is keep_max's choice, bit for bit (-0 vs +0 included).
  static void keep_max(Reg& best, Reg candidate) { best = _mm256_max_ps(candidate, best); }
  // n <= 16 floats -> registers of the even- and odd-position ones.
  static void load_even_odd(const float* p, int n, Reg& even, Reg& odd) {
    const Reg a = load_first(p, n < 8 ? n : 8), b = load_first(p + 8, n > 8 ? n - 8 : 0);
    const Reg e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xdd);
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xd8));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xd8));
  }
};

}  // namespace cnnkit::kernels::avx2
