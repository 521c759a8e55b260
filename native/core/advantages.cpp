// GRPO advantages on the cpu: one task per group. A group's statistics come from its own
// rewards only (so a NaN cannot leak across groups), and each response is written back to
// front, one fill per step, so the output is touched exactly once.
#include "advantages.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "thread_pool.h"

#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define PRMKIT_STREAM_STORES 1
#endif

namespace prm {
namespace {

std::string s(int64_t v) { return std::to_string(v); }

// Mean and the factor that turns a reward into its normalized value, over n values read
// through `at`. All-equal groups get factor 0 (zeros, not 0/0); any NaN gives NaN.
struct Normalizer {
  double mean = 0.0;
  double scale = 0.0;
  double operator()(double x) const { return (x - mean) * scale; }
};

template <class At>
Normalizer normalizer(int64_t n, At at, const AdvantageOptions& o) {
  Normalizer z;
  if (n == 0) return z;
  double sum = 0.0, lo = at(0), hi = lo;
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    const double x = at(i);
    nan |= std::isnan(x);
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  if (nan) {
    z.mean = z.scale = std::numeric_limits<double>::quiet_NaN();
    return z;
  }
  if (lo == hi) {
    z.mean = lo;  // every (x - mean) is exactly 0
    return z;
  }
  z.mean = sum / static_cast<double>(n);
  double ss = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = at(i) - z.mean;
    ss += d * d;
  }
  const double dof = o.std_kind == StdKind::Sample ? static_cast<double>(n - 1) : static_cast<double>(n);
  z.scale = 1.0 / (std::sqrt(ss / dof) + static_cast<double>(o.eps));
  return z;
}

// Outputs at least this large go out with streaming stores: they do not fit in cache anyway,
// and a plain store first reads the line it writes, which nearly doubles the traffic.
constexpr int64_t kStreamMinBytes = 4 << 20;

// Writes a piecewise-constant row: row[t] = value(j) for t in [from(j), to(j)), the runs
// given in order by `next(j)` and covering [0, T). With `stream`, whole 16-byte blocks go
// out as streaming stores, so the row is written once without being read first.
template <class Runs>
void write_runs(float* row, int64_t T, Runs& runs, bool stream) {
  int64_t t = 0, to = 0;
  float v = 0.0f;
  auto advance = [&] {
    while (t >= to) runs.next(to, v);
  };
#ifdef PRMKIT_STREAM_STORES
  if (stream) {
    for (; t < T && (reinterpret_cast<uintptr_t>(row + t) & 15) != 0; ++t) {
      advance();
      row[t] = v;
    }
    while (t + 4 <= T) {
      advance();
      if (t + 4 <= to) {
        // every whole block inside the run
        const __m128 value = _mm_set1_ps(v);
        const int64_t end = t + ((std::min(T, to) - t) & ~static_cast<int64_t>(3));
        for (; t < end; t += 4) _mm_stream_ps(row + t, value);
        continue;
      }
      // a run ends inside this block: lanes before the cut keep its value, the rest take the
      // next run's (one blend), unless that one ends inside the block too (lane by lane)
      const float before = v;
      const int64_t cut = to - t;
      const int64_t at = to;
      while (at >= to) runs.next(to, v);
      if (t + 4 <= to) {
        const __m128 keep = _mm_castsi128_ps(_mm_cmplt_epi32(_mm_setr_epi32(0, 1, 2, 3), _mm_set1_epi32(static_cast<int>(cut))));
        _mm_stream_ps(row + t, _mm_or_ps(_mm_and_ps(keep, _mm_set1_ps(before)), _mm_andnot_ps(keep, _mm_set1_ps(v))));
        t += 4;
        continue;
      }
      float lane[4];
      for (int i = 0; i < 4; ++i) lane[i] = i < cut ? before : v;
      for (int64_t i = at - t + 1; i < 4; ++i) {
        const int64_t u = t + i;
        while (u >= to) runs.next(to, v);
        lane[i] = v;
      }
      _mm_stream_ps(row + t, _mm_setr_ps(lane[0], lane[1], lane[2], lane[3]));
      t += 4;
    }
  }
#else
  (void)stream;
#endif
  while (t < T) {
    advance();
    const int64_t e = std::min(T, to);
    std::fill(row + t, row + e, v);
    t = e;
  }
}

struct Job {
  const AdvantageView& v;
  const AdvantageOptions& o;
  const int64_t* starts;  // [R + 1] output offset of each response
  float* out;
  bool stream;

  void process_group(int64_t g) const {
    const int32_t r0 = v.response_offsets[g], r1 = v.response_offsets[g + 1];
    const int32_t s0 = v.step_offsets[r0], s1 = v.step_offsets[r1];
    const float* x = v.step_rewards + s0;
    const Normalizer z = normalizer(s1 - s0, [x](int64_t i) { return static_cast<double>(x[i]); }, o);
    for (int32_t r = r0; r < r1; ++r) {
      // tokens up to step k's end get the sum of the normalized rewards of steps k..last:
      // the response's total minus what the steps before k add up to
      struct Runs {
        const AdvantageView& v;
        const Normalizer& z;
        int32_t k, last;
        double remaining;
        void next(int64_t& to, float& value) {
          if (k > last) {
            to = INT64_MAX;  // after the last step: nothing left to credit
            value = 0.0f;
            return;
          }
          value = static_cast<float>(remaining);
          to = static_cast<int64_t>(v.step_ends[k]) + 1;
          remaining -= z(v.step_rewards[k]);
          ++k;
        }
      };
      const int32_t first = v.step_offsets[r], last = v.step_offsets[r + 1] - 1;
      double total = 0.0;
      for (int32_t k = first; k <= last; ++k) total += z(v.step_rewards[k]);
      Runs runs{v, z, first, last, total};
      write_runs(out + starts[r], v.response_tokens[r], runs, stream);
    }
  }

  void outcome_group(int64_t g) const {
    const int32_t r0 = v.response_offsets[g], r1 = v.response_offsets[g + 1];
    // responses without steps have no final reward: they neither count nor get one
    std::vector<double> finals;
    finals.reserve(static_cast<size_t>(r1 - r0));
    for (int32_t r = r0; r < r1; ++r)
      if (v.step_offsets[r + 1] > v.step_offsets[r]) finals.push_back(v.step_rewards[v.step_offsets[r + 1] - 1]);
    const Normalizer z =
        normalizer(static_cast<int64_t>(finals.size()), [&finals](int64_t i) { return finals[i]; }, o);
    for (int32_t r = r0; r < r1; ++r) {
      struct Runs {
        float a;
        void next(int64_t& to, float& value) const {
          to = INT64_MAX;
          value = a;
        }
      };
      const bool has = v.step_offsets[r + 1] > v.step_offsets[r];
      Runs runs{has ? static_cast<float>(z(v.step_rewards[v.step_offsets[r + 1] - 1])) : 0.0f};
      write_runs(out + starts[r], v.response_tokens[r], runs, stream);
    }
  }

  void operator()(int64_t g) const {
    if (o.mode == AdvantageMode::Process) process_group(g);
    else outcome_group(g);
#ifdef PRMKIT_STREAM_STORES
    if (stream) _mm_sfence();
#endif
  }
};

}  // namespace

Check check_advantages(const AdvantageView& v, int64_t step_offsets_len, int64_t response_offsets_len,
                       int64_t step_ends_len, int64_t response_tokens_len, int64_t out_len, double eps) {
  if (!(eps >= 0.0) || !std::isfinite(eps)) return Check::range("options.eps must be a finite number >= 0");
  Check c = check_offsets(v.step_offsets, step_offsets_len, v.S, "stepOffsets", "stepRewards.length");
  if (!c) return c;
  const int64_t R = step_offsets_len - 1;
  c = check_offsets(v.response_offsets, response_offsets_len, R, "responseOffsets", "the number of responses (stepOffsets.length - 1)");
  if (!c) return c;
  if (step_ends_len != v.S)
    return Check::range("stepEnds must have one entry per step (stepRewards.length = " + s(v.S) + "), got " + s(step_ends_len));
  if (response_tokens_len != R)
    return Check::range("responseTokens must have one entry per response (" + s(R) + "), got " + s(response_tokens_len));
  int64_t total = 0;
  for (int64_t r = 0; r < R; ++r) {
    const int32_t T = v.response_tokens[r];
    if (T < 0) return Check::range("responseTokens[" + s(r) + "] = " + s(T) + " must be >= 0");
    total += T;
    for (int32_t k = v.step_offsets[r]; k < v.step_offsets[r + 1]; ++k) {
      if (v.step_ends[k] < 0 || v.step_ends[k] >= T)
        return Check::range("stepEnds[" + s(k) + "] = " + s(v.step_ends[k]) + " (response " + s(r) +
                            ") is outside [0, responseTokens[" + s(r) + "] = " + s(T) + ")");
      if (k > v.step_offsets[r] && v.step_ends[k] < v.step_ends[k - 1])
        return Check::range("stepEnds must be non-decreasing within a response: stepEnds[" + s(k) + "] = " +
                            s(v.step_ends[k]) + " < stepEnds[" + s(k - 1) + "] = " + s(v.step_ends[k - 1]) +
                            " (response " + s(r) + ")");
    }
  }
  if (out_len != total)
    return Check::range("out must have length sum(responseTokens) = " + s(total) + ", got " + s(out_len));
  return {};
}

void advantages_cpu(const AdvantageView& v, const AdvantageOptions& o, float* out, int threads) {
  std::vector<int64_t> starts(static_cast<size_t>(v.R) + 1, 0);
  for (int64_t r = 0; r < v.R; ++r) starts[r + 1] = starts[r] + v.response_tokens[r];
  Job job{v, o, starts.data(), out, starts[v.R] * static_cast<int64_t>(sizeof(float)) >= kStreamMinBytes};
  ThreadPool::instance().for_each(v.G, threads, job);
#ifdef PRMKIT_STREAM_STORES
  if (job.stream) _mm_sfence();  // the pool's threads fence their own stores at the end of each group
#endif
}

void write_bytes_cpu(void* data, size_t bytes, int threads) {
  const int pool = ThreadPool::instance().size();
  const int64_t tasks = threads > 0 ? std::min(threads, pool) : pool;
  const size_t chunk = ((bytes + tasks - 1) / tasks + 63) & ~static_cast<size_t>(63);
  auto work = [&](int64_t t) {
    const size_t b = std::min(bytes, static_cast<size_t>(t) * chunk), e = std::min(bytes, b + chunk);
    std::memset(static_cast<char*>(data) + b, 0, e - b);
  };
  ThreadPool::instance().for_each(tasks, threads, work);
}

}  // namespace prm
