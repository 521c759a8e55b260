// Per-call helpers shared by the host-array path (host_path.cpp) and the resident path
// (resident.cpp): the small argument arrays go up in one copy, the results come back in one.
#pragma once
#include <cstdint>
#include <string>

#include "../core/prmkit.h"
#include "check.h"
#include "context.h"
#include "kernels.h"
#include "memory.h"

namespace prm {
namespace cuda {

// Boundaries and head on the device. `with_positions`: the kernel reads rows in place
// (resident); `with_head_columns`: the kernel picks logits columns itself (resident).
struct DeviceArgs {
  Block host, dev;
  const int32_t* offsets = nullptr;
  const int32_t* candidate = nullptr;
  const int32_t* host_candidate = nullptr;  // the pinned copy, [S]
  const int32_t* positions = nullptr;
  const float* weight = nullptr;
  const float* bias = nullptr;
  const int32_t* columns = nullptr;
};

void upload_args(DeviceArgs& a, const BoundariesView& bounds, int64_t B, const HeadView& head, int64_t H,
                 bool with_positions, bool with_head_columns, cudaStream_t stream);

// Step log-probs [S], aggregates [5][B] and first errors [B], contiguous on both sides.
struct DeviceOutputs {
  Block host, dev;
  int64_t S = 0, B = 0;
  size_t lp_at = 0, agg_at = 0, fe_at = 0;
  void allocate(int64_t S, int64_t B);
  void fill(ScoreParams& p) const;
  void copy_back(cudaStream_t stream) const;  // async
  void scatter(const ScoreOut& out) const;    // after the copy completed
};

ScoreParams base_params(const DeviceArgs& a, const DeviceOutputs& o, const HeadView& head, int64_t B,
                        double threshold, uint32_t* counters);

// Runs fn and turns any failure into the returned message.
template <class F>
std::string guarded(F&& fn) {
  try {
    fn();
    return {};
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "prmkit: unknown failure in the CUDA backend";
  }
}

}  // namespace cuda
}  // namespace prm
