// Caching allocators for device and pinned host memory. A call asks for its buffers by
// size; blocks come back to the cache when released, so steady-state calls never reach
// cudaMalloc / cudaMallocHost (which synchronise the device and cost tens of microseconds).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace prm {
namespace cuda {

class BlockCache {
 public:
  enum Kind { kDevice, kPinned };
  explicit BlockCache(Kind kind) : kind_(kind) {}
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // Throws prm::cuda::Error when memory is exhausted even after dropping the cache.
  void* acquire(size_t bytes);
  void release(void* p);
  void trim();  // frees cached blocks (not those in use)

  struct Stats {
    size_t cached = 0, in_use = 0;
    uint64_t mallocs = 0;
  };
  Stats stats();

 private:
  void* raw_alloc(size_t bytes);
  void raw_free(void* p);

  Kind kind_;
  std::mutex mutex_;
  std::multimap<size_t, void*> free_;         // size -> block
  std::unordered_map<void*, size_t> used_;    // block -> size
  size_t cached_bytes_ = 0, used_bytes_ = 0;
  uint64_t mallocs_ = 0;
};

BlockCache& device_cache();
BlockCache& pinned_cache();

// A block borrowed from a cache for the lifetime of this object.
class Block {
 public:
  Block() = default;
  Block(BlockCache& cache, size_t bytes) : cache_(&cache), ptr_(bytes ? cache.acquire(bytes) : nullptr), size_(bytes) {}
  Block(Block&& o) noexcept { *this = std::move(o); }
  Block& operator=(Block&& o) noexcept {
    if (this != &o) {
      reset();
      cache_ = o.cache_;
      ptr_ = o.ptr_;
      size_ = o.size_;
      o.ptr_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  Block(const Block&) = delete;
  Block& operator=(const Block&) = delete;
  ~Block() { reset(); }

  void reset() {
    if (ptr_) cache_->release(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }
  template <class T = char>
  T* as(size_t byte_offset = 0) const {
    return reinterpret_cast<T*>(static_cast<char*>(ptr_) + byte_offset);
  }
  size_t size() const { return size_; }

 private:
  BlockCache* cache_ = nullptr;
  void* ptr_ = nullptr;
  size_t size_ = 0;
};

// Lays out several arrays in one block: each section starts on a 256-byte boundary, which
// keeps 16-byte vector loads aligned and lets one copy move them all.
class Layout {
 public:
  size_t add(size_t bytes) {
    const size_t at = size_;
    size_ += (bytes + 255) & ~size_t(255);
    return at;
  }
  size_t size() const { return size_ ? size_ : 256; }

 private:
  size_t size_ = 0;
};

}  // namespace cuda
}  // namespace prm
