#include "thread_pool.h"

#include <system_error>

#include "env.h"

namespace prm {

// A bad PRMKIT_THREADS is reported by whoever loads the kernels (env_settings().error); the
// pool itself never sees more than kMaxThreads.
static int default_threads() {
  if (env_settings().threads > 0) return env_settings().threads;
  const unsigned hc = std::thread::hardware_concurrency();
  if (hc == 0) return 1;
  return hc > static_cast<unsigned>(kMaxThreads) ? kMaxThreads : static_cast<int>(hc);
}

ThreadPool& ThreadPool::instance() {
  static ThreadPool pool(default_threads());
  return pool;
}

ThreadPool::ThreadPool(int threads) {
  // A system that refuses more threads (ulimit, cgroup pids limit) gets a smaller pool, not
  // an uncaught std::system_error from the first kernel call.
  try {
    for (int i = 0; i + 1 < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  } catch (const std::system_error&) {
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

void ThreadPool::drain() {
  for (;;) {
    const int64_t t = next_.fetch_add(1, std::memory_order_relaxed);
    if (t >= tasks_) return;
    fn_(ctx_, t);
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= active_workers_) continue;  // not part of this job
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--running_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(int64_t tasks, int threads, TaskFn fn, void* ctx) {
  if (tasks <= 0) return;
  int want = threads <= 0 ? size() : threads;
  if (want > size()) want = size();
  if (static_cast<int64_t>(want) > tasks) want = static_cast<int>(tasks);
  if (want <= 1) {
    for (int64_t t = 0; t < tasks; ++t) fn(ctx, t);
    return;
  }
  std::lock_guard<std::mutex> job(job_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = fn;
    ctx_ = ctx;
    tasks_ = tasks;
    next_.store(0, std::memory_order_relaxed);
    active_workers_ = want - 1;
    running_ = want - 1;
    ++generation_;
  }
  wake_.notify_all();
  drain();
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return running_ == 0; });
}

}  // namespace prm
