// The CUDA backend's host interface: the same kernel contract as native/core (prmkit.h),
// plus device-resident hidden states. Plain C++ (no CUDA headers), so the addon and the C++
// tests include it without nvcc. Every function returns an error message, empty on
// success; CUDA failures never abort the process.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "../core/prmkit.h"

namespace prm {
namespace cuda {

struct DeviceInfo {
  int devices = 0;
  std::string reason;  // why no device can be used; empty when devices > 0
  std::string name;    // device 0
};

// Probed once per process (cudaGetDeviceCount); safe without a driver.
DeviceInfo probe();

// ---- from host arrays (staged through pinned buffers in chunks, copy/compute overlapped) ----
// `threads` bounds the host threads that gather boundary rows into the staging buffers.
std::string score(const HiddenView& hidden, const BoundariesView& bounds, const HeadView& head, double threshold,
                  const ScoreOut& out, int threads = 0);
std::string gather_rows(const HiddenView& hidden, const BoundariesView& bounds, float* out /*[S, H]*/,
                        int threads = 0);
std::string first_error(const float* step_log_probs, const int32_t* offsets, int64_t B, double threshold,
                        int32_t* out);
std::string rank_groups(const float* scores, const int32_t* group_offsets, int64_t G, int32_t* out);

// ---- device-resident hidden states ----
// A copy of [B, T, H] in device memory that can be scored many times without copying again.
// The memory returns to the cache when the last reference is dropped.
class Resident;
using ResidentPtr = std::shared_ptr<Resident>;

struct ResidentShape {
  Dtype dtype;
  int64_t B, T, H;
  size_t bytes;
};

std::string upload(const HiddenView& hidden, ResidentPtr* out, int threads = 0);
ResidentShape resident_shape(const Resident& r);
// `bounds` and `head` are host arrays (small); the rows are read on the device.
std::string score_resident(const Resident& r, const BoundariesView& bounds, const HeadView& head, double threshold,
                           const ScoreOut& out);
std::string gather_rows_resident(const Resident& r, const BoundariesView& bounds, float* out /*[S, H]*/);

// ---- diagnostics ----
struct MemoryStats {
  size_t device_cached = 0, device_in_use = 0, pinned_cached = 0, pinned_in_use = 0;
  uint64_t device_mallocs = 0, pinned_mallocs = 0;  // cumulative cudaMalloc / cudaMallocHost calls
};
MemoryStats memory_stats();
// Frees every cached (unused) block; in-use blocks and resident copies stay.
std::string trim();

// Times the fused kernel alone on a resident copy: `iters` back-to-back launches between
// CUDA events, arguments uploaded once. For the GPU benchmark (bench/gpu).
std::string time_resident_kernel(const Resident& r, const BoundariesView& bounds, const HeadView& head,
                                 double threshold, int iters, double* ms_per_call);
// Device-to-device copy bandwidth (bytes read + written per second) over `bytes`.
std::string measure_copy_bandwidth(size_t bytes, int iters, double* bytes_per_second);

}  // namespace cuda
}  // namespace prm
