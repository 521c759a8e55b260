// A persistent pool of worker threads. One job runs at a time (concurrent callers queue on a
// mutex); the calling thread works too, so a pool of N threads has N-1 workers. Tasks are
// handed out by an atomic counter, which balances ragged batches without a scheduler.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace prm {

class ThreadPool {
 public:
  using TaskFn = void (*)(void* ctx, int64_t task);

  static ThreadPool& instance();

  // Runs fn(ctx, t) for t in [0, tasks) on at most `threads` threads (<= 0: all).
  void run(int64_t tasks, int threads, TaskFn fn, void* ctx);

  template <class F>
  void for_each(int64_t tasks, int threads, F& f) {
    run(tasks, threads, [](void* c, int64_t t) { (*static_cast<F*>(c))(t); }, &f);
  }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  ~ThreadPool();

 private:
  explicit ThreadPool(int threads);
  void worker_loop(int index);
  void drain();

  std::vector<std::thread> workers_;
  std::mutex job_mutex_;  // one job at a time

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;
  bool stop_ = false;

  // current job
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t tasks_ = 0;
  int active_workers_ = 0;  // workers allowed to join this job
  std::atomic<int64_t> next_{0};
  int running_ = 0;         // workers still inside the job
};

}  // namespace prm
