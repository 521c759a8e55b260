// Which implementation runs a call: the core's cpu kernels or, when this addon was built
// with CUDA, native/cuda. Returns an error message, empty on success. The cuda_* functions
// exist in every build; without CUDA they return the "unavailable" message.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "../core/prmkit.h"

namespace prm_addon {

enum class Backend { Cpu, Cuda };

struct CudaStatus {
  bool compiled = false;
  int devices = 0;
  std::string reason;       // why cuda is unavailable, empty when it is
  std::string device_name;  // device 0
};

CudaStatus cuda_status();
std::string backend_unavailable(Backend b);  // empty when b can run here

std::string score(Backend b, const prm::HiddenView& hidden, const prm::BoundariesView& bounds,
                  const prm::HeadView& head, double threshold, const prm::ScoreOut& out, int threads);
std::string gather_rows(Backend b, const prm::HiddenView& hidden, const prm::BoundariesView& bounds, float* out,
                        int threads);

std::string cuda_first_error(const float* lp, const int32_t* offsets, int64_t B, double threshold, int32_t* out);
std::string cuda_rank_groups(const float* scores, const int32_t* group_offsets, int64_t G, int32_t* out);

// ---- device-resident hidden states, named by integer handles ----
struct ResidentRef;  // a counted reference: a call holding one keeps the device copy alive
using ResidentRefPtr = std::shared_ptr<ResidentRef>;

struct ResidentShape {
  prm::Dtype dtype;
  int64_t B, T, H;
  double bytes;
};

std::string cuda_upload(const prm::HiddenView& hidden, int threads, uint32_t* handle);
bool cuda_release(uint32_t handle);          // false when the handle was unknown (or already freed)
ResidentRefPtr cuda_resident(uint32_t handle);  // null when unknown
ResidentShape cuda_resident_shape(const ResidentRef& r);
std::string cuda_score_resident(const ResidentRef& r, const prm::BoundariesView& bounds, const prm::HeadView& head,
                                double threshold, const prm::ScoreOut& out);
std::string cuda_gather_resident(const ResidentRef& r, const prm::BoundariesView& bounds, float* out);
uint32_t cuda_live_handles();

struct CudaMemory {
  double device_cached = 0, device_in_use = 0, pinned_cached = 0, pinned_in_use = 0;
  double device_mallocs = 0, pinned_mallocs = 0;
};
CudaMemory cuda_memory();
std::string cuda_trim();

}  // namespace prm_addon
