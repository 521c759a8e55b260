// Kernel launchers (defined in the .cu files) and the argument block of the fused kernel.
// Host code builds a ScoreParams from device pointers and launches on its stream.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

#include "../core/prmkit.h"

namespace prm {
namespace cuda {

struct ScoreParams {
  // Rows. Resident (positions set): step s reads row candidate[s] * T + positions[s] of
  // `rows`. Compact (positions null): the host staged the rows of steps
  // [step_begin, step_end) back to back.
  const char* rows;
  int64_t row_stride;  // bytes between consecutive rows
  int64_t row_elems;   // elements per row (H; K after a host-side column gather)
  int64_t T;
  int32_t step_begin, step_end;
  const int32_t* positions;  // [S], resident; null for compact rows
  const int32_t* candidate;  // [S] step -> candidate
  const int32_t* offsets;    // [B + 1]
  int64_t B;
  // Head (HeadView semantics). For a logits head `columns` may be null (the whole row).
  HeadKind kind;
  Activation activation;
  int32_t positive, K;
  const float* weight;  // [K, row_elems]
  const float* bias;    // [K] or null
  const int32_t* columns;
  double log_threshold;
  bool vector_loads;  // rows and weights are 16-byte aligned and row_elems fills whole vectors
  bool fill_empty;    // this launch also writes the results of empty chains
  // Outputs.
  float* step_log_probs;  // [S]
  float* aggregates;      // [kNumAggregations][B]
  int32_t* first_error;   // [B]
  // Steps scored so far per candidate; zero before and after every call (the warp that
  // finishes a candidate resets its counter).
  uint32_t* done;
};

// gather + head + log-score + per-candidate reductions in one kernel.
void launch_fused_score(const ScoreParams& p, Dtype dtype, int sm_count, cudaStream_t stream);

// dst[i] = float(src[i]) for i < n.
void launch_widen(const void* src, Dtype dtype, int64_t n, float* dst, cudaStream_t stream);

// Resident gather: dst[s, :] = float(row of step s).
void launch_gather_resident(const char* rows, Dtype dtype, int64_t T, int64_t H, const int32_t* positions,
                            const int32_t* candidate, int64_t S, float* dst, int sm_count, cudaStream_t stream);

void launch_first_error(const float* step_log_probs, const int32_t* offsets, int64_t B, double log_threshold,
                        int32_t* out, int sm_count, cudaStream_t stream);

void launch_rank_groups(const float* scores, const int32_t* group_offsets, int64_t G, int32_t* out,
                        cudaStream_t stream);

}  // namespace cuda
}  // namespace prm
