// AVX2 + FMA part of the LM-head log-probability kernel (lm_head.h), compiled for any x86-64
// target through function attributes and picked at run time. The panel keeps a 6 x 16 block
// of logits in twelve ymm accumulators: per element of the hidden size, two loads of the
// transposed tile and six broadcasts feed twelve FMAs.
#include "lm_head.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(PRMKIT_NO_AVX2)
#include <immintrin.h>

#include <cmath>

// GCC 12's intrinsic headers build "undefined" vectors from self-initialised variables, which
// -Wmaybe-uninitialized reports inside every function that inlines them.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define PRM_AVX2 __attribute__((target("avx2,fma")))

namespace prm {
namespace {

constexpr int kRt = 6, kRv = 16;

PRM_AVX2 void panel(const float* X, int64_t H, const float* Wt, int64_t ldw, float* C, int64_t ldc) {
  __m256 c[kRt][2];
#pragma GCC unroll 6
  for (int r = 0; r < kRt; ++r) c[r][0] = c[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < H; ++k) {
    const __m256 w0 = _mm256_loadu_ps(Wt + k * ldw), w1 = _mm256_loadu_ps(Wt + k * ldw + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kRt; ++r) {
      const __m256 x = _mm256_broadcast_ss(X + r * H + k);
      c[r][0] = _mm256_fmadd_ps(x, w0, c[r][0]);
      c[r][1] = _mm256_fmadd_ps(x, w1, c[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < kRt; ++r) {
    _mm256_storeu_ps(C + r * ldc, c[r][0]);
    _mm256_storeu_ps(C + r * ldc + 8, c[r][1]);
  }
}

PRM_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

PRM_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

PRM_AVX2 float max(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY), nan = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(m, v);
  }
  float r = hmax(m);
  if (_mm256_movemask_ps(nan)) return NAN;
  for (; i < n; ++i) {
    if (std::isnan(x[i])) return NAN;
    r = x[i] > r ? x[i] : r;
  }
  return r;
}

// exp(x) for x <= 0 (every input is a logit minus the running max): x = n ln2 + f with
// |f| <= ln2 / 2, exp(f) by its Taylor polynomial to f^7 (relative error below 1e-8), times
// 2^n built in the exponent bits. Below -87 the result is flushed to 2^-126-ish, which a sum
// of probabilities cannot tell from zero; a NaN input stays NaN.
PRM_AVX2 inline __m256 exp_neg(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-87.0f), x);  // max(c, NaN) is NaN: the second operand wins
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 f = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  f = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), f);
  __m256 p = _mm256_set1_ps(1.f / 5040);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f / 720));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f / 120));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f / 24));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f / 6));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

PRM_AVX2 float sum_exp(const float* x, int64_t n, float m) {
  const __m256 mv = _mm256_set1_ps(m);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_add_ps(s0, exp_neg(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv)));
    s1 = _mm256_add_ps(s1, exp_neg(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), mv)));
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_add_ps(s0, exp_neg(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv)));
  float s = hsum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) s += std::exp(x[i] - m);
  return s;
}

const LmHeadKernels kAvx2 = {"avx2+fma", kRt, kRv, panel, max, sum_exp};

}  // namespace

const LmHeadKernels* avx2_lm_head_kernels() { return &kAvx2; }

}  // namespace prm

#else

namespace prm {
const LmHeadKernels* avx2_lm_head_kernels() { return nullptr; }
}  // namespace prm

#endif
