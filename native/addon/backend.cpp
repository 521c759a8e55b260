#include "backend.h"

#include <mutex>
#include <unordered_map>

#ifdef PRMKIT_WITH_CUDA
#include "../cuda/prmkit_cuda.h"
#endif

namespace prm_addon {

CudaStatus cuda_status() {
  CudaStatus s;
#ifdef PRMKIT_WITH_CUDA
  s.compiled = true;
  const prm::cuda::DeviceInfo d = prm::cuda::probe();
  s.devices = d.devices;
  s.reason = d.reason;
  s.device_name = d.name;
#elif defined(PRMKIT_CUDA_DISABLED)
  s.reason = "this build of prmkit was compiled without CUDA on purpose (PRMKIT_CUDA=off); "
             "rebuild without it (`npm rebuild prmkit`) to include the CUDA backend";
#else
  s.reason = "this build of prmkit has no CUDA code (nvcc was not found when it was compiled); "
             "install the CUDA toolkit and run `npm rebuild prmkit`";
#endif
  return s;
}

std::string backend_unavailable(Backend b) {
  if (b == Backend::Cpu) return {};
  const CudaStatus s = cuda_status();
  if (s.compiled && s.devices > 0) return {};
  return "prmkit: backend 'cuda' is unavailable: " + s.reason;
}

std::string score(Backend b, const prm::HiddenView& hidden, const prm::BoundariesView& bounds,
                  const prm::HeadView& head, double threshold, const prm::ScoreOut& out, int threads) {
#ifdef PRMKIT_WITH_CUDA
  if (b == Backend::Cuda) return prm::cuda::score(hidden, bounds, head, threshold, out, threads);
#else
  if (b == Backend::Cuda) return backend_unavailable(b);
#endif
  prm::score_cpu(hidden, bounds, head, threshold, out, threads);
  return {};
}

std::string gather_rows(Backend b, const prm::HiddenView& hidden, const prm::BoundariesView& bounds, float* out,
                        int threads) {
#ifdef PRMKIT_WITH_CUDA
  if (b == Backend::Cuda) return prm::cuda::gather_rows(hidden, bounds, out, threads);
#else
  if (b == Backend::Cuda) return backend_unavailable(b);
#endif
  prm::gather_rows_cpu(hidden, bounds, out, threads);
  return {};
}

#ifdef PRMKIT_WITH_CUDA

std::string cuda_first_error(const float* lp, const int32_t* offsets, int64_t B, double threshold, int32_t* out) {
  const std::string why = backend_unavailable(Backend::Cuda);
  return why.empty() ? prm::cuda::first_error(lp, offsets, B, threshold, out) : why;
}

std::string cuda_rank_groups(const float* scores, const int32_t* group_offsets, int64_t G, int32_t* out) {
  const std::string why = backend_unavailable(Backend::Cuda);
  return why.empty() ? prm::cuda::rank_groups(scores, group_offsets, G, out) : why;
}

struct ResidentRef {
  prm::cuda::ResidentPtr ptr;
};

namespace {
std::mutex registry_mutex;
std::unordered_map<uint32_t, ResidentRefPtr> registry;
uint32_t next_handle = 1;
}  // namespace

std::string cuda_upload(const prm::HiddenView& hidden, int threads, uint32_t* handle) {
  const std::string why = backend_unavailable(Backend::Cuda);
  if (!why.empty()) return why;
  auto ref = std::make_shared<ResidentRef>();
  const std::string err = prm::cuda::upload(hidden, &ref->ptr, threads);
  if (!err.empty()) return err;
  std::lock_guard<std::mutex> lock(registry_mutex);
  *handle = next_handle++;
  registry.emplace(*handle, std::move(ref));
  return {};
}

bool cuda_release(uint32_t handle) {
  ResidentRefPtr dropped;  // destroyed outside the lock
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry.find(handle);
  if (it == registry.end()) return false;
  dropped = std::move(it->second);
  registry.erase(it);
  return true;
}

ResidentRefPtr cuda_resident(uint32_t handle) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto it = registry.find(handle);
  return it == registry.end() ? nullptr : it->second;
}

uint32_t cuda_live_handles() {
  std::lock_guard<std::mutex> lock(registry_mutex);
  return static_cast<uint32_t>(registry.size());
}

ResidentShape cuda_resident_shape(const ResidentRef& r) {
  const prm::cuda::ResidentShape s = prm::cuda::resident_shape(*r.ptr);
  return {s.dtype, s.B, s.T, s.H, static_cast<double>(s.bytes)};
}

std::string cuda_score_resident(const ResidentRef& r, const prm::BoundariesView& bounds, const prm::HeadView& head,
                                double threshold, const prm::ScoreOut& out) {
  return prm::cuda::score_resident(*r.ptr, bounds, head, threshold, out);
}

std::string cuda_gather_resident(const ResidentRef& r, const prm::BoundariesView& bounds, float* out) {
  return prm::cuda::gather_rows_resident(*r.ptr, bounds, out);
}

CudaMemory cuda_memory() {
  const prm::cuda::MemoryStats m = prm::cuda::memory_stats();
  return {static_cast<double>(m.device_cached), static_cast<double>(m.device_in_use),
          static_cast<double>(m.pinned_cached), static_cast<double>(m.pinned_in_use),
          static_cast<double>(m.device_mallocs), static_cast<double>(m.pinned_mallocs)};
}

std::string cuda_trim() {
  const std::string why = backend_unavailable(Backend::Cuda);
  return why.empty() ? prm::cuda::trim() : why;
}

#else  // no CUDA in this build: every device entry point reports why

}  // namespace prm_addon

// Defined with qualified names, so a stub whose signature drifts from backend.h is a compile
// error here instead of an undefined symbol in the binary.
struct prm_addon::ResidentRef {};

namespace {
std::string no_cuda() { return prm_addon::backend_unavailable(prm_addon::Backend::Cuda); }
}  // namespace

std::string prm_addon::cuda_first_error(const float*, const int32_t*, int64_t, double, int32_t*) { return no_cuda(); }
std::string prm_addon::cuda_rank_groups(const float*, const int32_t*, int64_t, int32_t*) { return no_cuda(); }
std::string prm_addon::cuda_upload(const prm::HiddenView&, int, uint32_t*) { return no_cuda(); }
bool prm_addon::cuda_release(uint32_t) { return false; }
prm_addon::ResidentRefPtr prm_addon::cuda_resident(uint32_t) { return nullptr; }
uint32_t prm_addon::cuda_live_handles() { return 0; }
prm_addon::ResidentShape prm_addon::cuda_resident_shape(const ResidentRef&) { return {prm::Dtype::F32, 0, 0, 0, 0}; }
std::string prm_addon::cuda_score_resident(const ResidentRef&, const prm::BoundariesView&, const prm::HeadView&,
                                           double, const prm::ScoreOut&) {
  return no_cuda();
}
std::string prm_addon::cuda_gather_resident(const ResidentRef&, const prm::BoundariesView&, float*) { return no_cuda(); }
prm_addon::CudaMemory prm_addon::cuda_memory() { return {}; }
std::string prm_addon::cuda_trim() { return no_cuda(); }

namespace prm_addon {

#endif

}  // namespace prm_addon
