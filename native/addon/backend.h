// Which implementation runs a call: the core's cpu kernels or, when this addon was built
// with CUDA, native/cuda. Returns an error message, empty on success.
#pragma once
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
                  const prm::HeadView& head, float threshold, const prm::ScoreOut& out, int threads);
std::string gather_rows(Backend b, const prm::HiddenView& hidden, const prm::BoundariesView& bounds, float* out,
                        int threads);

}  // namespace prm_addon
