#include "backend.h"

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
                  const prm::HeadView& head, float threshold, const prm::ScoreOut& out, int threads) {
#ifdef PRMKIT_WITH_CUDA
  if (b == Backend::Cuda) return prm::cuda::score(hidden, bounds, head, threshold, out);
#else
  (void)b;
#endif
  prm::score_cpu(hidden, bounds, head, threshold, out, threads);
  return {};
}

std::string gather_rows(Backend b, const prm::HiddenView& hidden, const prm::BoundariesView& bounds, float* out,
                        int threads) {
#ifdef PRMKIT_WITH_CUDA
  if (b == Backend::Cuda) return prm::cuda::gather_rows(hidden, bounds, out);
#else
  (void)b;
#endif
  prm::gather_rows_cpu(hidden, bounds, out, threads);
  return {};
}

}  // namespace prm_addon
