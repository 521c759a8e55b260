// AVX-512F part of the LM-head log-probability kernel (lm_head.h), compiled for any x86-64
// target through function attributes and picked at run time where the cpu (and the OS's
// saved register state) has AVX-512F. The panel keeps an 8 x 48 block of logits in 24 zmm
// accumulators: per element of the hidden size, three loads of the transposed tile and eight
// broadcasts feed 24 FMAs.
#include "lm_head.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(PRMKIT_NO_AVX512)
#include <immintrin.h>

#include <cmath>

// GCC 12's intrinsic headers build "undefined" vectors from self-initialised variables, which
// -Wmaybe-uninitialized reports inside every function that inlines them.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define PRM_AVX512 __attribute__((target("avx512f")))

namespace prm {
namespace {

constexpr int kRt = 8, kRv = 48;

PRM_AVX512 void panel(const float* X, int64_t H, const float* Wt, int64_t ldw, float* C, int64_t ldc) {
  __m512 c[kRt][3];
#pragma GCC unroll 8
  for (int r = 0; r < kRt; ++r) c[r][0] = c[r][1] = c[r][2] = _mm512_setzero_ps();
  for (int64_t k = 0; k < H; ++k) {
    const float* w = Wt + k * ldw;
    const __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16), w2 = _mm512_loadu_ps(w + 32);
#pragma GCC unroll 8
    for (int r = 0; r < kRt; ++r) {
      const __m512 x = _mm512_set1_ps(X[r * H + k]);
      c[r][0] = _mm512_fmadd_ps(x, w0, c[r][0]);
      c[r][1] = _mm512_fmadd_ps(x, w1, c[r][1]);
      c[r][2] = _mm512_fmadd_ps(x, w2, c[r][2]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kRt; ++r) {
    _mm512_storeu_ps(C + r * ldc, c[r][0]);
    _mm512_storeu_ps(C + r * ldc + 16, c[r][1]);
    _mm512_storeu_ps(C + r * ldc + 32, c[r][2]);
  }
}

PRM_AVX512 float max(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-INFINITY);
  __mmask16 nan = 0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    m = _mm512_max_ps(m, v);
  }
  if (i < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail, x + i);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    m = _mm512_max_ps(m, v);
  }
  if (nan) return NAN;
  return _mm512_reduce_max_ps(m);
}

// exp(x) for x <= 0, as in lm_head_avx2.cpp: x = n ln2 + f, Taylor polynomial of exp(f) to
// f^7, times 2^n (_mm512_scalef_ps); inputs below -87 are clamped there, NaN stays NaN.
PRM_AVX512 inline __m512 exp_neg(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-87.0f), x);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  f = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), f);
  __m512 p = _mm512_set1_ps(1.f / 5040);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f / 720));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f / 120));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f / 24));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f / 6));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

PRM_AVX512 float sum_exp(const float* x, int64_t n, float m) {
  const __m512 mv = _mm512_set1_ps(m);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_add_ps(s0, exp_neg(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv)));
    s1 = _mm512_add_ps(s1, exp_neg(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), mv)));
  }
  for (; i + 16 <= n; i += 16) s0 = _mm512_add_ps(s0, exp_neg(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv)));
  if (i < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 v = _mm512_maskz_sub_ps(tail, _mm512_maskz_loadu_ps(tail, x + i), mv);
    s1 = _mm512_mask_add_ps(s1, tail, s1, exp_neg(v));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

const LmHeadKernels kAvx512 = {"avx512f", kRt, kRv, panel, max, sum_exp};

}  // namespace

const LmHeadKernels* avx512_lm_head_kernels() { return &kAvx512; }

}  // namespace prm

#else

namespace prm {
const LmHeadKernels* avx512_lm_head_kernels() { return nullptr; }
}  // namespace prm

#endif
