#include "memory.h"

#include <cuda_runtime_api.h>

#include "check.h"

namespace prm {
namespace cuda {
namespace {

// Small requests round to a power of two, large ones to 2 MiB, so that similar batch
// sizes share blocks without wasting much memory.
size_t round_size(size_t bytes) {
  constexpr size_t kLarge = size_t(2) << 20;
  if (bytes >= kLarge) return (bytes + kLarge - 1) & ~(kLarge - 1);
  size_t r = 512;
  while (r < bytes) r <<= 1;
  return r;
}

}  // namespace

void* BlockCache::raw_alloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t e = kind_ == kDevice ? cudaMalloc(&p, bytes) : cudaMallocHost(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear it, drop what the cache holds, and try once more
    for (auto& [size, block] : free_) raw_free(block);
    free_.clear();
    cached_bytes_ = 0;
    e = kind_ == kDevice ? cudaMalloc(&p, bytes) : cudaMallocHost(&p, bytes);
  }
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    throw Error(std::string(kind_ == kDevice ? "CUDA device" : "pinned host") + " allocation of " +
                std::to_string(bytes) + " bytes failed: " + cudaGetErrorString(e));
  }
  ++mallocs_;
  return p;
}

void BlockCache::raw_free(void* p) {
  // Errors on free are not actionable (the block is gone either way); they stay sticky
  // for the next checked call if the context itself is broken.
  if (kind_ == kDevice)
    (void)cudaFree(p);
  else
    (void)cudaFreeHost(p);
}

void* BlockCache::acquire(size_t bytes) {
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = free_.lower_bound(size);
  void* p;
  size_t got;
  // reuse a cached block unless it is more than twice as large as needed
  if (it != free_.end() && it->first <= 2 * size) {
    p = it->second;
    got = it->first;
    free_.erase(it);
    cached_bytes_ -= got;
  } else {
    p = raw_alloc(size);
    got = size;
  }
  used_.emplace(p, got);
  used_bytes_ += got;
  return p;
}

void BlockCache::release(void* p) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = used_.find(p);
  if (it == used_.end()) return;
  free_.emplace(it->second, p);
  cached_bytes_ += it->second;
  used_bytes_ -= it->second;
  used_.erase(it);
}

void BlockCache::trim() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [size, block] : free_) raw_free(block);
  free_.clear();
  cached_bytes_ = 0;
}

BlockCache::Stats BlockCache::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return {cached_bytes_, used_bytes_, mallocs_};
}

// Never destroyed: freeing CUDA memory from static destructors races the runtime's own
// teardown at exit, and the process is ending anyway.
BlockCache& device_cache() {
  static BlockCache* c = new BlockCache(BlockCache::kDevice);
  return *c;
}
BlockCache& pinned_cache() {
  static BlockCache* c = new BlockCache(BlockCache::kPinned);
  return *c;
}

}  // namespace cuda
}  // namespace prm
