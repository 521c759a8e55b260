#include "context.h"

#include <string>

#include "check.h"
#include "prmkit_cuda.h"

namespace prm {
namespace cuda {
namespace {

// The kernels are compiled for compute capability 8.0 and 9.0 (+ PTX for newer).
constexpr int kMinMajor = 8;

std::string describe_count_error(cudaError_t e) {
  const std::string what = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
  switch (e) {
    case cudaErrorNoDevice: return "no CUDA device is visible (" + what + ")";
    case cudaErrorInsufficientDriver:
      return "no usable NVIDIA driver (" + what +
             "); the driver library libcuda.so is missing or older than this CUDA 13 runtime needs";
    default: return "CUDA could not be initialised (" + what + ")";
  }
}

DeviceInfo probe_once() {
  DeviceInfo d;
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    d.reason = describe_count_error(e);
    return d;
  }
  if (n <= 0) {
    d.reason = "no CUDA device is visible (cudaGetDeviceCount returned 0)";
    return d;
  }
  cudaDeviceProp prop{};
  const cudaError_t pe = cudaGetDeviceProperties(&prop, 0);
  if (pe != cudaSuccess) {
    (void)cudaGetLastError();
    d.reason = std::string("cudaGetDeviceProperties failed: ") + cudaGetErrorString(pe);
    return d;
  }
  d.name = prop.name;
  if (prop.major < kMinMajor) {
    d.reason = std::string("device 0 (") + prop.name + ") has compute capability " + std::to_string(prop.major) +
               "." + std::to_string(prop.minor) + "; this build's kernels need 8.0 or newer";
    return d;
  }
  d.devices = n;
  return d;
}

}  // namespace

DeviceInfo probe() {
  static const DeviceInfo info = probe_once();
  return info;
}

uint32_t* Context::counters(int64_t B, cudaStream_t stream) {
  if (B > counters_capacity_) {
    const int64_t cap = std::max<int64_t>(B, std::max<int64_t>(1024, counters_capacity_ * 2));
    counters_.reset();
    counters_ = Block(device_cache(), static_cast<size_t>(cap) * sizeof(uint32_t));
    counters_capacity_ = cap;
    counters_dirty_ = true;
  }
  if (counters_dirty_) {
    PRM_CUDA_CHECK(cudaMemsetAsync(counters_.as(), 0, static_cast<size_t>(counters_capacity_) * sizeof(uint32_t), stream));
    counters_dirty_ = false;
  }
  return counters_.as<uint32_t>();
}

Context& context() {
  const DeviceInfo info = probe();
  if (info.devices <= 0) throw Error("prmkit: backend 'cuda' is unavailable: " + info.reason);
  static Context* ctx = nullptr;
  static std::once_flag once;
  static std::string init_error;
  std::call_once(once, [] {
    try {
      auto* c = new Context();
      PRM_CUDA_CHECK(cudaSetDevice(c->device));
      PRM_CUDA_CHECK(cudaDeviceGetAttribute(&c->sm_count, cudaDevAttrMultiProcessorCount, c->device));
      for (int k = 0; k < 2; ++k) {
        PRM_CUDA_CHECK(cudaStreamCreateWithFlags(&c->streams[k], cudaStreamNonBlocking));
        PRM_CUDA_CHECK(cudaEventCreateWithFlags(&c->staged[k], cudaEventDisableTiming));
        PRM_CUDA_CHECK(cudaEventCreateWithFlags(&c->finished[k], cudaEventDisableTiming));
        PRM_CUDA_CHECK(cudaEventCreate(&c->timing[k]));
      }
      ctx = c;  // never destroyed: see device_cache()
    } catch (const std::exception& e) {
      init_error = e.what();
    }
  });
  if (!ctx) throw Error("prmkit: the CUDA backend failed to initialise: " + init_error);
  return *ctx;
}

}  // namespace cuda
}  // namespace prm
