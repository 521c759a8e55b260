// prmkit native core: the kernel contract (ARCHITECTURE.md) as plain C++17 over flat arrays.
// No Node headers here, so the same code serves the addon, the C++ tests and the CUDA
// backend's reference checks. Callers validate shapes first (validate.h); these functions
// trust their arguments.
#pragma once
#include <cstddef>
#include <cstdint>

namespace prm {

enum class Dtype : int32_t { F32 = 0, F16 = 1, BF16 = 2 };
enum class Activation : int32_t { Sigmoid = 0, Softmax = 1 };
enum class HeadKind : int32_t { Linear = 0, Logits = 1 };

// Aggregations as a bit mask; the order is the order of ScoreOut::aggregates.
enum Aggregation : int32_t { kProd = 0, kMin = 1, kLast = 2, kMean = 3, kGeomean = 4, kNumAggregations = 5 };

inline size_t dtype_size(Dtype d) { return d == Dtype::F32 ? 4 : 2; }

struct HiddenView {
  const void* data;  // [B, T, H] row-major
  Dtype dtype;
  int64_t B, T, H;
};

struct BoundariesView {
  const int32_t* offsets;    // [B + 1], offsets[0] = 0, non-decreasing, offsets[B] = S
  const int32_t* positions;  // [S], each in [0, T)
  int64_t S;
};

struct HeadView {
  HeadKind kind;
  Activation activation;
  int32_t positive;          // class whose probability is "step correct"
  // Linear: weight [K, H] float32, bias [K] or null.
  const float* weight;
  const float* bias;
  int32_t K;                 // number of head outputs (Linear) or of columns (Logits)
  // Logits: the row already holds logits over H = V entries; columns picks K of them,
  // or is null to use the whole row (K = H).
  const int32_t* columns;
};

struct ScoreOut {
  float* step_log_probs;                    // [S]
  float* aggregates[kNumAggregations];      // [B] each, null when not requested
  int32_t* first_error;                     // [B]
};

// Upper bound on K for the fused linear head: keeps the per-row accumulators in registers
// and on the stack (no allocation per step). Larger heads are rejected by validation.
constexpr int32_t kMaxLinearOutputs = 64;

// ---- kernels (cpu) ----
// threads <= 0 means "all pool threads".
void score_cpu(const HiddenView& hidden, const BoundariesView& bounds, const HeadView& head,
               double threshold, const ScoreOut& out, int threads);
void gather_rows_cpu(const HiddenView& hidden, const BoundariesView& bounds, float* out /*[S, H]*/, int threads);
void aggregate_cpu(const float* step_log_probs, const int32_t* offsets, int64_t B, Aggregation how, float* out,
                   int threads);
void first_error_cpu(const float* step_log_probs, const int32_t* offsets, int64_t B, double threshold, int32_t* out,
                     int threads);
void rank_groups_cpu(const float* scores, const int32_t* group_offsets, int64_t G, int32_t* out, int threads);

// Reads `bytes` bytes of `data` (summing them so the reads cannot be elided) with the given
// threads; the roofline the benchmark compares the kernels against.
double read_bytes_cpu(const void* data, size_t bytes, int threads);

// ---- machine facts ----
const char* simd_name();     // "avx2+fma+f16c" or "scalar"
int pool_threads();          // threads the pool runs with (including the caller)

}  // namespace prm
