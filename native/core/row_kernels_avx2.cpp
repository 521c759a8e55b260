// AVX2 + FMA + F16C row kernels, compiled for any x86-64 target through function
// attributes and picked at run time (row_kernels()). 16-bit rows are widened eight at a
// time in registers: F16C's vcvtph2ps for float16, a zero-extend and 16-bit shift for
// bfloat16.
#include "row_kernels.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(PRMKIT_NO_AVX2)
#include <immintrin.h>

#define PRM_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace prm {
namespace {

struct F32 {
  using T = float;
  PRM_AVX2 static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
  static float one(const float* p) { return *p; }
};
struct F16 {
  using T = uint16_t;
  PRM_AVX2 static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  PRM_AVX2 static float one(const uint16_t* p) { return _cvtsh_ss(*p); }
};
struct BF16 {
  using T = uint16_t;
  PRM_AVX2 static __m256 load8(const uint16_t* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static float one(const uint16_t* p) {
    uint32_t u = static_cast<uint32_t>(*p) << 16;
    float f;
    __builtin_memcpy(&f, &u, 4);
    return f;
  }
};

// Prefetch the cache lines of `next` that match elements [i, i + n) of the current row.
template <class D>
inline void prefetch(const char* next, int64_t i, int n) {
  if (!next) return;
  const char* p = next + i * static_cast<int64_t>(sizeof(typename D::T));
  for (int b = 0; b < n * static_cast<int>(sizeof(typename D::T)); b += 64) _mm_prefetch(p + b, _MM_HINT_T0);
}

PRM_AVX2 inline float hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One output: four independent FMA chains over 32 elements hide the FMA latency, so the
// loop runs at load throughput.
template <class D>
PRM_AVX2 float dot1(const typename D::T* row, int64_t H, const float* w, const char* next) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= H; i += 32) {
    prefetch<D>(next, i, 32);
    a0 = _mm256_fmadd_ps(D::load8(row + i), _mm256_loadu_ps(w + i), a0);
    a1 = _mm256_fmadd_ps(D::load8(row + i + 8), _mm256_loadu_ps(w + i + 8), a1);
    a2 = _mm256_fmadd_ps(D::load8(row + i + 16), _mm256_loadu_ps(w + i + 16), a2);
    a3 = _mm256_fmadd_ps(D::load8(row + i + 24), _mm256_loadu_ps(w + i + 24), a3);
  }
  for (; i + 8 <= H; i += 8) a0 = _mm256_fmadd_ps(D::load8(row + i), _mm256_loadu_ps(w + i), a0);
  float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < H; ++i) s += D::one(row + i) * w[i];
  return s;
}

// Up to four outputs per pass: each row element is widened once and feeds every output.
template <class D, int N>
PRM_AVX2 void dotN(const typename D::T* row, int64_t H, const float* W, float* out, const char* next) {
  __m256 a[N][2];
  for (int k = 0; k < N; ++k) a[k][0] = a[k][1] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= H; i += 16) {
    prefetch<D>(next, i, 16);
    const __m256 x0 = D::load8(row + i), x1 = D::load8(row + i + 8);
    for (int k = 0; k < N; ++k) {
      a[k][0] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(W + k * H + i), a[k][0]);
      a[k][1] = _mm256_fmadd_ps(x1, _mm256_loadu_ps(W + k * H + i + 8), a[k][1]);
    }
  }
  for (; i + 8 <= H; i += 8) {
    const __m256 x0 = D::load8(row + i);
    for (int k = 0; k < N; ++k) a[k][0] = _mm256_fmadd_ps(x0, _mm256_loadu_ps(W + k * H + i), a[k][0]);
  }
  for (int k = 0; k < N; ++k) {
    float s = hsum(_mm256_add_ps(a[k][0], a[k][1]));
    for (int64_t j = i; j < H; ++j) s += D::one(row + j) * W[k * H + j];
    out[k] = s;
  }
}

template <class D>
PRM_AVX2 void dot(const typename D::T* row, int64_t H, const float* W, int32_t K, float* out, const void* next_row) {
  const char* next = static_cast<const char*>(next_row);
  if (K == 1) {
    out[0] = dot1<D>(row, H, W, next);
    return;
  }
  // The first pass brings the row into L1/L2 (and prefetches the next row); later groups of
  // four re-read this row from cache.
  int32_t k = 0;
  for (; k + 4 <= K; k += 4, next = nullptr) dotN<D, 4>(row, H, W + k * H, out + k, next);
  switch (K - k) {
    case 3: dotN<D, 3>(row, H, W + k * H, out + k, next); break;
    case 2: dotN<D, 2>(row, H, W + k * H, out + k, next); break;
    case 1: out[k] = dot1<D>(row, H, W + k * H, next); break;
    default: break;
  }
}

template <class D, int K>
PRM_AVX2 void dot4K(const void* const* rows, int64_t H, const float* W, float* out, const void* const* next) {
  using T = typename D::T;
  const T* r[4];
  const char* n[4];
  for (int j = 0; j < 4; ++j) {
    r[j] = static_cast<const T*>(rows[j]);
    n[j] = static_cast<const char*>(next[j]);
  }
  __m256 acc[4][K];
  for (int j = 0; j < 4; ++j)
    for (int k = 0; k < K; ++k) acc[j][k] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= H; i += 16) {
    for (int j = 0; j < 4; ++j) prefetch<D>(n[j], i, 16);
    for (int h = 0; h < 16; h += 8) {
      __m256 w[K];
      for (int k = 0; k < K; ++k) w[k] = _mm256_loadu_ps(W + k * H + i + h);
      for (int j = 0; j < 4; ++j) {
        const __m256 x = D::load8(r[j] + i + h);
        for (int k = 0; k < K; ++k) acc[j][k] = _mm256_fmadd_ps(x, w[k], acc[j][k]);
      }
    }
  }
  for (int j = 0; j < 4; ++j)
    for (int k = 0; k < K; ++k) {
      float s = hsum(acc[j][k]);
      for (int64_t e = i; e < H; ++e) s += D::one(r[j] + e) * W[k * H + e];
      out[j * K + k] = s;
    }
}

template <class D>
PRM_AVX2 void dot4(const void* const* rows, int64_t H, const float* W, int32_t K, float* out, const void* const* next) {
  if (K == 1) return dot4K<D, 1>(rows, H, W, out, next);
  return dot4K<D, 2>(rows, H, W, out, next);
}

template <class D>
PRM_AVX2 void widen(const uint16_t* row, int64_t H, float* out) {
  int64_t i = 0;
  for (; i + 8 <= H; i += 8) _mm256_storeu_ps(out + i, D::load8(row + i));
  for (; i < H; ++i) out[i] = D::one(row + i);
}

PRM_AVX2 float sum_f32(const float* p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
  }
  float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; ++i) s += p[i];
  return s;
}

// Four floats widened to double per step; four chains of double FMAs hide their latency.
PRM_AVX2 double dot_f64(const float* a, const float* b, int64_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_cvtps_pd(_mm_loadu_ps(b + i)), s0);
    s1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 4)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 4)), s1);
    s2 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 8)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 8)), s2);
    s3 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i + 12)), _mm256_cvtps_pd(_mm_loadu_ps(b + i + 12)), s3);
  }
  for (; i + 4 <= n; i += 4) s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + i)), _mm256_cvtps_pd(_mm_loadu_ps(b + i)), s0);
  const __m256d s = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
  double r = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
  for (; i < n; ++i) r += static_cast<double>(a[i]) * b[i];
  return r;
}

PRM_AVX2 void axpy_f64(double* acc, double g, const float* x, int64_t n) {
  const __m256d gv = _mm256_set1_pd(g);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_pd(acc + i, _mm256_fmadd_pd(gv, _mm256_cvtps_pd(_mm_loadu_ps(x + i)), _mm256_loadu_pd(acc + i)));
    _mm256_storeu_pd(acc + i + 4, _mm256_fmadd_pd(gv, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)), _mm256_loadu_pd(acc + i + 4)));
  }
  for (; i < n; ++i) acc[i] += g * static_cast<double>(x[i]);
}

const RowKernels kAvx2 = {
    "avx2+fma+f16c", dot<F32>, dot<F16>, dot<BF16>, dot4<F32>, dot4<F16>, dot4<BF16>, widen<F16>, widen<BF16>, sum_f32,
    dot_f64,         axpy_f64,
};

}  // namespace

const RowKernels* avx2_row_kernels() { return &kAvx2; }

}  // namespace prm

#else

namespace prm {
const RowKernels* avx2_row_kernels() { return nullptr; }
}  // namespace prm

#endif
