// The process's CUDA state: device 0, two streams (so one chunk's copy overlaps the
// previous chunk's kernel), their events, and the per-candidate step counters of the fused
// kernel. Calls take the mutex: one call drives the device at a time, which keeps the
// staging buffers and counters simple and costs little (each call already saturates a
// copy engine or the memory system).
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>
#include <exception>
#include <mutex>

#include "memory.h"

namespace prm {
namespace cuda {

struct Context {
  std::mutex mutex;
  int device = 0;
  int sm_count = 0;
  cudaStream_t streams[2] = {};
  cudaEvent_t staged[2] = {};    // slot k's pinned staging buffer has been copied out
  cudaEvent_t finished[2] = {};  // slot k's last kernel (or copy back) is done
  cudaEvent_t timing[2] = {};

  // Counters for B candidates, zero on return. Grows (zeroed) on demand; re-zeroed after a
  // call that failed part way.
  uint32_t* counters(int64_t B, cudaStream_t stream);
  void mark_counters_dirty() { counters_dirty_ = true; }

 private:
  Block counters_;
  int64_t counters_capacity_ = 0;
  bool counters_dirty_ = false;
};

// Throws Error (with probe()'s reason) when no device can be used. Callers lock `mutex`.
Context& context();

// Declared after a call's Blocks: when an exception unwinds the call, waits for the device
// before those blocks go back to the cache, so queued work never touches reused memory.
class SyncOnUnwind {
 public:
  explicit SyncOnUnwind(Context& ctx) : ctx_(ctx), uncaught_(std::uncaught_exceptions()) {}
  ~SyncOnUnwind() {
    if (std::uncaught_exceptions() > uncaught_) {
      (void)cudaDeviceSynchronize();
      (void)cudaGetLastError();
      ctx_.mark_counters_dirty();
    }
  }

 private:
  Context& ctx_;
  int uncaught_;
};

// The host-side equivalent of a kernel: runs fn(begin, end) over [0, n) on the core's
// thread pool in pieces of at least `grain`.
template <class F>
void parallel_ranges(int64_t n, int64_t grain, int threads, F&& fn);

}  // namespace cuda
}  // namespace prm

#include "../core/thread_pool.h"

namespace prm {
namespace cuda {

template <class F>
void parallel_ranges(int64_t n, int64_t grain, int threads, F&& fn) {
  if (n <= 0) return;
  const int64_t pool = ThreadPool::instance().size();
  const int64_t tasks = std::max<int64_t>(1, std::min<int64_t>(pool * 2, n / std::max<int64_t>(grain, 1)));
  if (tasks == 1) return fn(int64_t(0), n);
  auto work = [&](int64_t t) { fn(n * t / tasks, n * (t + 1) / tasks); };
  ThreadPool::instance().for_each(tasks, threads, work);
}

}  // namespace cuda
}  // namespace prm
