// Every CUDA runtime call goes through PRM_CUDA_CHECK: a failure becomes a prm::cuda::Error
// carrying the call, the error name and the location. The public functions (api.cpp) turn
// it into the returned error string, so nothing unwinds into Node and nothing aborts.
#pragma once
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace prm {
namespace cuda {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(cudaError_t e, const char* what, const char* file, int line) {
  const char* base = file;
  for (const char* p = file; *p; ++p)
    if (*p == '/' || *p == '\\') base = p + 1;
  throw Error(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") from " + what +
              " at " + base + ":" + std::to_string(line));
}

inline void check(cudaError_t e, const char* what, const char* file, int line) {
  if (e != cudaSuccess) fail(e, what, file, line);
}

}  // namespace cuda
}  // namespace prm

#define PRM_CUDA_CHECK(expr) ::prm::cuda::check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: configuration errors surface here, faults at the next sync.
#define PRM_CUDA_CHECK_LAUNCH(name) ::prm::cuda::check(cudaGetLastError(), name, __FILE__, __LINE__)
