// The fused cpu path: for each candidate, gather its boundary rows, apply the head,
// log-score, and reduce, in one pass that reads each boundary row exactly once.
#include <algorithm>
#include <cmath>
#include <vector>

#include "half.h"
#include "log_score.h"
#include "prmkit.h"
#include "row_kernels.h"
#include "thread_pool.h"

namespace prm {
namespace {

// Element loads for the logits head, which touches only a few columns of each row.
inline float load_elem(const void* row, Dtype dt, int64_t i) {
  switch (dt) {
    case Dtype::F32: return static_cast<const float*>(row)[i];
    case Dtype::F16: return f16_to_float(static_cast<const uint16_t*>(row)[i]);
    default: return bf16_to_float(static_cast<const uint16_t*>(row)[i]);
  }
}

// Softmax over a whole logits row, streamed: one pass keeps a running max and rescaled sum.
float full_row_log_softmax(const void* row, Dtype dt, int64_t V, int32_t positive) {
  double m = -INFINITY, s = 0.0;
  for (int64_t i = 0; i < V; ++i) {
    const double z = load_elem(row, dt, i);
    if (std::isnan(z)) return kNaN;
    if (z == -INFINITY) continue;  // contributes nothing; would make exp(z - m) NaN while m is -inf
    if (z > m) {
      s = s * std::exp(m - z) + 1.0;
      m = z;
    } else {
      s += std::exp(z - m);
    }
  }
  if (std::isinf(m)) return kNaN;
  return static_cast<float>(load_elem(row, dt, positive) - m - std::log(s));
}

struct StepScorer {
  const HiddenView& hidden;
  const HeadView& head;
  const RowKernels& rk;
  size_t row_bytes;

  const char* row_at(int64_t b, int32_t pos) const {
    return static_cast<const char*>(hidden.data) + (b * hidden.T + pos) * row_bytes;
  }

  // Linear head with K <= 2 over four rows: z[j * K + k].
  void dot4(const void* const* rows, const void* const* next, float* z) const {
    switch (hidden.dtype) {
      case Dtype::F32: rk.dot4_f32(rows, hidden.H, head.weight, head.K, z, next); break;
      case Dtype::F16: rk.dot4_f16(rows, hidden.H, head.weight, head.K, z, next); break;
      case Dtype::BF16: rk.dot4_bf16(rows, hidden.H, head.weight, head.K, z, next); break;
    }
  }

  // Bias and log-score of one row's linear outputs.
  float finish(float* z) const {
    if (head.bias)
      for (int32_t k = 0; k < head.K; ++k) z[k] += head.bias[k];
    return log_score(z, head.K, head.activation, head.positive);
  }

  float operator()(const char* row, const char* next) const {
    float z[kMaxLinearOutputs];
    const int32_t K = head.K;
    if (head.kind == HeadKind::Linear) {
      switch (hidden.dtype) {
        case Dtype::F32: rk.dot_f32(reinterpret_cast<const float*>(row), hidden.H, head.weight, K, z, next); break;
        case Dtype::F16: rk.dot_f16(reinterpret_cast<const uint16_t*>(row), hidden.H, head.weight, K, z, next); break;
        case Dtype::BF16: rk.dot_bf16(reinterpret_cast<const uint16_t*>(row), hidden.H, head.weight, K, z, next); break;
      }
      return finish(z);
    } else if (head.columns) {
      for (int32_t k = 0; k < K; ++k) z[k] = load_elem(row, hidden.dtype, head.columns[k]);
    } else {
      if (head.activation == Activation::Softmax) return full_row_log_softmax(row, hidden.dtype, hidden.H, head.positive);
      z[0] = load_elem(row, hidden.dtype, 0);  // sigmoid over a one-column row
    }
    return log_score(z, K, head.activation, head.positive);
  }
};

// Candidate b's first step index is offsets[b]; task t owns candidates whose steps start
// in [t*S/n, (t+1)*S/n), so tasks carry equal work however ragged the chains are.
inline int64_t task_begin(const int32_t* offsets, int64_t B, int64_t S, int64_t tasks, int64_t t) {
  if (t >= tasks) return B;
  const int64_t target = (S * t + tasks - 1) / tasks;
  return std::lower_bound(offsets, offsets + B, target) - offsets;
}

// Below this many bytes of boundary rows a call stays on the calling thread: waking the pool
// costs more than the rows take to read.
constexpr size_t kParallelMinBytes = 1 << 20;

inline int threads_for(size_t bytes, int threads) { return bytes < kParallelMinBytes ? 1 : threads; }

inline int64_t task_count(int64_t B, int64_t S, int threads) {
  const int pool = threads > 0 ? std::min(threads, ThreadPool::instance().size()) : ThreadPool::instance().size();
  // A few tasks per thread absorb uneven row costs; tiny batches stay on one task.
  const int64_t by_work = std::max<int64_t>(1, S / 16);
  return std::max<int64_t>(1, std::min<int64_t>({B, by_work, static_cast<int64_t>(pool) * 4}));
}

void write_stats(const ScoreOut& out, int64_t b, const ChainStats& c) {
  if (out.aggregates[kProd]) out.aggregates[kProd][b] = c.prod;
  if (out.aggregates[kMin]) out.aggregates[kMin][b] = c.min;
  if (out.aggregates[kLast]) out.aggregates[kLast][b] = c.last;
  if (out.aggregates[kMean]) out.aggregates[kMean][b] = c.mean;
  if (out.aggregates[kGeomean]) out.aggregates[kGeomean][b] = c.geomean;
  if (out.first_error) out.first_error[b] = c.first_error;
}

}  // namespace

void score_cpu(const HiddenView& hidden, const BoundariesView& bounds, const HeadView& head, double threshold,
               const ScoreOut& out, int threads) {
  const int64_t B = hidden.B;
  const StepScorer step{hidden, head, row_kernels(), dtype_size(hidden.dtype) * static_cast<size_t>(hidden.H)};
  const double log_thr = std::log(static_cast<double>(threshold));
  threads = threads_for(step.row_bytes * static_cast<size_t>(bounds.S), threads);
  const int64_t tasks = task_count(B, bounds.S, threads);
  const bool by_four = head.kind == HeadKind::Linear && head.K <= 2;
  auto work = [&](int64_t t) {
    const int64_t b0 = task_begin(bounds.offsets, B, bounds.S, tasks, t);
    const int64_t b1 = task_begin(bounds.offsets, B, bounds.S, tasks, t + 1);
    if (b1 <= b0) return;
    const int32_t first = bounds.offsets[b0], end = bounds.offsets[b1];
    // Phase 1: every step of the task's candidates, four rows at a time for linear heads of
    // one or two outputs (the PRM heads), one row at a time otherwise.
    // owner(s) walks forward with s, so finding each step's candidate costs O(1) amortised.
    int64_t ob = b0;
    auto owner = [&](int32_t s) {
      while (bounds.offsets[ob + 1] <= s) ++ob;
      return ob;
    };
    int32_t s = first;
    if (by_four) {
      const void* rows[4];
      const void* next[4];
      float z[8];
      int64_t nb = b0;
      auto next_row = [&](int32_t n) -> const void* {
        if (n >= end) return nullptr;
        while (bounds.offsets[nb + 1] <= n) ++nb;
        return step.row_at(nb, bounds.positions[n]);
      };
      // The last group repeats its final row to fill four slots (re-read from L1), so every
      // row goes through the same arithmetic whatever the grouping: results do not depend on
      // the thread count.
      for (; s < end; s += 4) {
        const int n = end - s < 4 ? end - s : 4;
        for (int j = 0; j < 4; ++j) {
          rows[j] = j < n ? step.row_at(owner(s + j), bounds.positions[s + j]) : rows[n - 1];
          next[j] = next_row(s + 4 + j);
        }
        step.dot4(rows, next, z);
        for (int j = 0; j < n; ++j) out.step_log_probs[s + j] = step.finish(z + j * head.K);
      }
    }
    for (; s < end; ++s) {
      const char* row = step.row_at(owner(s), bounds.positions[s]);
      const char* next = s + 1 < end ? step.row_at(owner(s + 1), bounds.positions[s + 1]) : nullptr;
      out.step_log_probs[s] = step(row, next);
    }
    // Phase 2: reduce each candidate from the log-probs just written (still in cache).
    for (int64_t b = b0; b < b1; ++b) {
      const int32_t s0 = bounds.offsets[b], s1 = bounds.offsets[b + 1];
      write_stats(out, b, reduce_chain(out.step_log_probs + s0, s1 - s0, log_thr));
    }
  };
  ThreadPool::instance().for_each(tasks, threads, work);
}

void gather_rows_cpu(const HiddenView& hidden, const BoundariesView& bounds, float* out, int threads) {
  const RowKernels& rk = row_kernels();
  const int64_t H = hidden.H, B = hidden.B;
  const size_t row_bytes = dtype_size(hidden.dtype) * static_cast<size_t>(H);
  threads = threads_for(row_bytes * static_cast<size_t>(bounds.S), threads);
  const int64_t tasks = task_count(B, bounds.S, threads);
  auto work = [&](int64_t t) {
    const int64_t b1 = task_begin(bounds.offsets, B, bounds.S, tasks, t + 1);
    for (int64_t b = task_begin(bounds.offsets, B, bounds.S, tasks, t); b < b1; ++b) {
      for (int32_t s = bounds.offsets[b]; s < bounds.offsets[b + 1]; ++s) {
        const char* row = static_cast<const char*>(hidden.data) + (b * hidden.T + bounds.positions[s]) * row_bytes;
        float* dst = out + static_cast<int64_t>(s) * H;
        switch (hidden.dtype) {
          case Dtype::F32: std::copy_n(reinterpret_cast<const float*>(row), H, dst); break;
          case Dtype::F16: rk.widen_f16(reinterpret_cast<const uint16_t*>(row), H, dst); break;
          case Dtype::BF16: rk.widen_bf16(reinterpret_cast<const uint16_t*>(row), H, dst); break;
        }
      }
    }
  };
  ThreadPool::instance().for_each(tasks, threads, work);
}

void aggregate_cpu(const float* lp, const int32_t* offsets, int64_t B, Aggregation how, float* out, int threads) {
  const int64_t tasks = task_count(B, offsets[B], threads);
  auto work = [&](int64_t t) {
    const int64_t b1 = task_begin(offsets, B, offsets[B], tasks, t + 1);
    for (int64_t b = task_begin(offsets, B, offsets[B], tasks, t); b < b1; ++b) {
      const ChainStats c = reduce_chain(lp + offsets[b], offsets[b + 1] - offsets[b], 0.0);
      const float v[kNumAggregations] = {c.prod, c.min, c.last, c.mean, c.geomean};
      out[b] = v[how];
    }
  };
  ThreadPool::instance().for_each(tasks, threads, work);
}

void first_error_cpu(const float* lp, const int32_t* offsets, int64_t B, double threshold, int32_t* out,
                     int threads) {
  const double log_thr = std::log(static_cast<double>(threshold));
  const int64_t tasks = task_count(B, offsets[B], threads);
  auto work = [&](int64_t t) {
    const int64_t b1 = task_begin(offsets, B, offsets[B], tasks, t + 1);
    for (int64_t b = task_begin(offsets, B, offsets[B], tasks, t); b < b1; ++b) {
      int32_t fe = -1;
      for (int32_t s = offsets[b]; s < offsets[b + 1]; ++s)
        if (lp[s] < log_thr) {
          fe = s - offsets[b];
          break;
        }
      out[b] = fe;
    }
  };
  ThreadPool::instance().for_each(tasks, threads, work);
}

void rank_groups_cpu(const float* scores, const int32_t* group_offsets, int64_t G, int32_t* out, int threads) {
  auto work = [&](int64_t g) {
    int32_t* first = out + group_offsets[g];
    int32_t* last = out + group_offsets[g + 1];
    for (int32_t i = group_offsets[g]; i < group_offsets[g + 1]; ++i) out[i] = i;
    // best first, NaN last, ties by candidate index so the order is deterministic
    std::sort(first, last, [scores](int32_t a, int32_t b) {
      const float x = scores[a], y = scores[b];
      const bool xn = std::isnan(x), yn = std::isnan(y);
      if (xn != yn) return yn;
      if (!xn && x != y) return x > y;
      return a < b;
    });
  };
  ThreadPool::instance().for_each(G, G < 64 ? 1 : threads, work);
}

double read_bytes_cpu(const void* data, size_t bytes, int threads) {
  const RowKernels& rk = row_kernels();
  const size_t n = bytes / sizeof(float);
  const int pool = ThreadPool::instance().size();
  const int64_t tasks = threads > 0 ? std::min(threads, pool) : pool;
  const size_t chunk = (n + tasks - 1) / tasks;
  std::vector<double> sums(static_cast<size_t>(tasks), 0.0);  // one per task: no sharing, any pool size
  auto work = [&](int64_t t) {
    const size_t b = std::min(n, t * chunk), e = std::min(n, b + chunk);
    sums[t] = rk.sum_f32(static_cast<const float*>(data) + b, e - b);
  };
  ThreadPool::instance().for_each(tasks, threads, work);
  double s = 0;
  for (double v : sums) s += v;
  return s;
}

int pool_threads() { return ThreadPool::instance().size(); }

}  // namespace prm
