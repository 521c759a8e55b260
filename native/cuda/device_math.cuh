// Device-side building blocks: element loads per dtype, warp reductions, and the stable
// log-scores of native/core/log_score.h (same formulas, in double where the cpu uses double).
#pragma once
#include <cuda_fp16.h>

#include <cstdint>

#include "../core/prmkit.h"

namespace prm {
namespace cuda {

constexpr unsigned kFullMask = 0xffffffffu;

__device__ __forceinline__ float nan_f() { return __int_as_float(0x7fffffff); }
__device__ __forceinline__ float inf_f() { return __int_as_float(0x7f800000); }

// One 16-byte vector holds kPerVec elements; `unpack` widens them to float32 exactly.
template <Dtype D>
struct Elem;

template <>
struct Elem<Dtype::F32> {
  static constexpr int kPerVec = 4;
  __device__ __forceinline__ static float load(const char* row, int64_t i) {
    return __ldcs(reinterpret_cast<const float*>(row) + i);
  }
  __device__ __forceinline__ static void unpack(const uint4 v, float* x) {
    x[0] = __uint_as_float(v.x);
    x[1] = __uint_as_float(v.y);
    x[2] = __uint_as_float(v.z);
    x[3] = __uint_as_float(v.w);
  }
};

__device__ __forceinline__ float half_bits_to_float(unsigned h) { return __half2float(__ushort_as_half(static_cast<unsigned short>(h))); }

template <>
struct Elem<Dtype::F16> {
  static constexpr int kPerVec = 8;
  __device__ __forceinline__ static float load(const char* row, int64_t i) {
    return half_bits_to_float(__ldcs(reinterpret_cast<const unsigned short*>(row) + i));
  }
  __device__ __forceinline__ static void unpack(const uint4 v, float* x) {
    const unsigned w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {  // little endian: the low half is the earlier element
      x[2 * j] = half_bits_to_float(w[j] & 0xffffu);
      x[2 * j + 1] = half_bits_to_float(w[j] >> 16);
    }
  }
};

template <>
struct Elem<Dtype::BF16> {
  static constexpr int kPerVec = 8;
  __device__ __forceinline__ static float load(const char* row, int64_t i) {
    return __uint_as_float(static_cast<unsigned>(__ldcs(reinterpret_cast<const unsigned short*>(row) + i)) << 16);
  }
  __device__ __forceinline__ static void unpack(const uint4 v, float* x) {
    const unsigned w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      x[2 * j] = __uint_as_float(w[j] << 16);
      x[2 * j + 1] = __uint_as_float(w[j] & 0xffff0000u);
    }
  }
};

// Butterfly reductions: every lane ends with the result, and the combination order is
// fixed, so results do not depend on scheduling.
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFullMask, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}
__device__ __forceinline__ float warp_min(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fminf(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}
__device__ __forceinline__ int warp_min(int v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = min(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// log sigmoid(z) = -softplus(-z) without overflow (log_score.h).
__device__ __forceinline__ double log_sigmoid(double z) { return fmin(z, 0.0) - log1p(exp(-fabs(z))); }

// log softmax(z)[positive] over z[0..K) held in registers (K <= KB); NaN when any output is
// NaN or the largest is infinite, as on the cpu.
template <int KB>
__device__ __forceinline__ float log_softmax_regs(const float (&z)[KB], int K, int positive) {
  double m = -static_cast<double>(inf_f());
  double zp = 0.0;
  bool nan = false;
#pragma unroll
  for (int k = 0; k < KB; ++k) {
    if (k < K) {
      nan |= isnan(z[k]);
      m = fmax(m, static_cast<double>(z[k]));
      if (k == positive) zp = z[k];
    }
  }
  if (nan || isinf(m)) return nan_f();
  double s = 0.0;
#pragma unroll
  for (int k = 0; k < KB; ++k)
    if (k < K) s += exp(static_cast<double>(z[k]) - m);
  return static_cast<float>(zp - m - log(s));
}

}  // namespace cuda
}  // namespace prm
