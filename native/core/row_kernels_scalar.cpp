// Portable row kernels. Eight independent partial sums per output mirror the SIMD layout,
// so the compiler can vectorise with the baseline instruction set and rounding stays close
// to the AVX2 path.
#include "half.h"
#include "row_kernels.h"

namespace prm {
namespace {

struct LoadF32 {
  static float at(const float* p, int64_t i) { return p[i]; }
};
struct LoadF16 {
  static float at(const uint16_t* p, int64_t i) { return f16_to_float(p[i]); }
};
struct LoadBF16 {
  static float at(const uint16_t* p, int64_t i) { return bf16_to_float(p[i]); }
};

template <class Load, class T>
void dot(const T* row, int64_t H, const float* W, int32_t K, float* out, const void* /*next*/) {
  constexpr int L = 8;
  const int64_t Hv = H - H % L;
  for (int32_t k0 = 0; k0 < K; k0 += 4) {
    const int32_t kn = K - k0 < 4 ? K - k0 : 4;
    float acc[4][L] = {};
    for (int64_t i = 0; i < Hv; i += L) {
      float x[L];
      for (int j = 0; j < L; ++j) x[j] = Load::at(row, i + j);
      for (int32_t k = 0; k < kn; ++k) {
        const float* w = W + (k0 + k) * H + i;
        for (int j = 0; j < L; ++j) acc[k][j] += x[j] * w[j];
      }
    }
    for (int32_t k = 0; k < kn; ++k) {
      float tail = 0.f;
      const float* w = W + (k0 + k) * H;
      for (int64_t i = Hv; i < H; ++i) tail += Load::at(row, i) * w[i];
      float s = 0.f;
      for (int j = 0; j < L; ++j) s += acc[k][j];
      out[k0 + k] = s + tail;
    }
  }
}

template <class Load, class T>
void dot4(const void* const* rows, int64_t H, const float* W, int32_t K, float* out, const void* const* /*next*/) {
  for (int r = 0; r < 4; ++r) dot<Load, T>(static_cast<const T*>(rows[r]), H, W, K, out + r * K, nullptr);
}

template <class Load>
void widen(const uint16_t* row, int64_t H, float* out) {
  for (int64_t i = 0; i < H; ++i) out[i] = Load::at(row, i);
}

float sum_f32(const float* data, size_t n) {
  float acc[8] = {};
  const size_t nv = n - n % 8;
  for (size_t i = 0; i < nv; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += data[i + j];
  float s = 0.f;
  for (size_t i = nv; i < n; ++i) s += data[i];
  for (int j = 0; j < 8; ++j) s += acc[j];
  return s;
}

// Four accumulators: independent chains the compiler can keep in flight without
// reassociating one sum.
double dot_f64(const float* a, const float* b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += static_cast<double>(a[i]) * b[i];
    s1 += static_cast<double>(a[i + 1]) * b[i + 1];
    s2 += static_cast<double>(a[i + 2]) * b[i + 2];
    s3 += static_cast<double>(a[i + 3]) * b[i + 3];
  }
  for (; i < n; ++i) s0 += static_cast<double>(a[i]) * b[i];
  return (s0 + s1) + (s2 + s3);
}

void axpy_f64(double* acc, double g, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += g * static_cast<double>(x[i]);
}

const RowKernels kScalar = {
    "scalar",
    dot<LoadF32, float>,
    dot<LoadF16, uint16_t>,
    dot<LoadBF16, uint16_t>,
    dot4<LoadF32, float>,
    dot4<LoadF16, uint16_t>,
    dot4<LoadBF16, uint16_t>,
    widen<LoadF16>,
    widen<LoadBF16>,
    sum_f32,
    dot_f64,
    axpy_f64,
};

}  // namespace

const RowKernels& scalar_row_kernels() { return kScalar; }

}  // namespace prm
