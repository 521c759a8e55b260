// The per-row primitives the cpu kernels are built from, one table per instruction set.
// Every function reads its row once, in place; 16-bit rows are widened in registers.
#pragma once
#include <cstddef>
#include <cstdint>

#include "prmkit.h"

namespace prm {

struct RowKernels {
  const char* name;
  // out[k] = dot(row, W[k*H .. k*H+H)) for k in [0, K), K <= kMaxLinearOutputs.
  // `next` is the row the caller reads after this one (or null): it is prefetched in step
  // with this row, because boundary rows sit at scattered addresses where the hardware
  // prefetcher restarts on every row and page.
  void (*dot_f32)(const float* row, int64_t H, const float* W, int32_t K, float* out, const void* next);
  void (*dot_f16)(const uint16_t* row, int64_t H, const float* W, int32_t K, float* out, const void* next);
  void (*dot_bf16)(const uint16_t* row, int64_t H, const float* W, int32_t K, float* out, const void* next);
  // Four rows at once, for heads of one or two outputs: out[r * K + k] = dot(rows[r], W[k]).
  // Boundary rows sit at scattered addresses, so a single row stream keeps too few cache
  // misses in flight; four independent streams (plus a prefetch of the next four) come much
  // closer to the memory bandwidth. `next` may hold nulls.
  void (*dot4_f32)(const void* const* rows, int64_t H, const float* W, int32_t K, float* out, const void* const* next);
  void (*dot4_f16)(const void* const* rows, int64_t H, const float* W, int32_t K, float* out, const void* const* next);
  void (*dot4_bf16)(const void* const* rows, int64_t H, const float* W, int32_t K, float* out, const void* const* next);
  // out[0..H) = row widened to float32.
  void (*widen_f16)(const uint16_t* row, int64_t H, float* out);
  void (*widen_bf16)(const uint16_t* row, int64_t H, float* out);
  // Sum of `n` floats (the read-bandwidth probe).
  float (*sum_f32)(const float* data, size_t n);
  // Head training (bce.cpp): float32 products summed in double. dot_f64 returns
  // sum(a[i] * b[i]); axpy_f64 adds g * x[i] to acc[i].
  double (*dot_f64)(const float* a, const float* b, int64_t n);
  void (*axpy_f64)(double* acc, double g, const float* x, int64_t n);
};

const RowKernels& scalar_row_kernels();
// Null when this build has no AVX2 variant; the caller also checks the cpu at run time.
const RowKernels* avx2_row_kernels();
// The table for this cpu, chosen once.
const RowKernels& row_kernels();

}  // namespace prm
