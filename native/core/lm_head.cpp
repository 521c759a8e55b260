// The LM-head log-probability kernel's driver (lm_head.h): a blocked matrix product whose
// output never leaves a small scratch buffer.
//
//   for each block of hidden rows (X, widened to float32, at most kBlockBytes):
//     threads split the vocabulary into contiguous ranges; for each tile of head rows:
//       widen + transpose the tile (Wt, ~kTileBytes, stays in L2)
//       register-blocked panels: C[rt x tile] = X[rt rows] . Wt
//       each row: tile max, sum of exp, merged into its running (max, sum); the target's logit kept
//   merge the ranges' (max, sum) per row: log P = logit[target] - (M + log S)
//
// Memory beyond the inputs: X, plus per range a tile, one panel row block and two floats
// per row; never rows x vocabulary. The head is read once per row block.
#include "lm_head.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "env.h"
#include "half.h"
#include "row_kernels.h"
#include "thread_pool.h"

namespace prm {
namespace {

constexpr int64_t kTileBytes = 256 * 1024;  // one transposed head tile (float32)
constexpr int64_t kBlockBytes = 16 << 20;   // hidden rows widened per block
constexpr int64_t kMaxTile = 1024;          // head rows per tile at most

// ---- portable kernels: plain loops the compiler vectorizes ----
constexpr int kScalarRt = 4, kScalarRv = 16;

void scalar_panel(const float* X, int64_t H, const float* Wt, int64_t ldw, float* C, int64_t ldc) {
  float acc[kScalarRt][kScalarRv] = {};
  for (int64_t k = 0; k < H; ++k) {
    const float* w = Wt + k * ldw;
    for (int r = 0; r < kScalarRt; ++r) {
      const float x = X[r * H + k];
      for (int j = 0; j < kScalarRv; ++j) acc[r][j] += x * w[j];
    }
  }
  for (int r = 0; r < kScalarRt; ++r) std::memcpy(C + r * ldc, acc[r], sizeof(acc[r]));
}

float scalar_max(const float* x, int64_t n) {
  float m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) return x[i];
    m = x[i] > m ? x[i] : m;
  }
  return m;
}

float scalar_sum_exp(const float* x, int64_t n, float m) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
  return s;
}

const LmHeadKernels kScalar = {"scalar", kScalarRt, kScalarRv, scalar_panel, scalar_max, scalar_sum_exp};

// Head rows [0, rows) widened and transposed into Wt[k * ldw + j], sixteen rows at a time so
// every store fills a whole cache line.
void widen_transpose(const void* W, Dtype dt, int64_t H, int64_t rows, float* Wt, int64_t ldw, float* buf /*[16 * H]*/) {
  const RowKernels& rk = row_kernels();
  for (int64_t r0 = 0; r0 < rows; r0 += 16) {
    const int64_t n = std::min<int64_t>(16, rows - r0);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t r = r0 + j;
      switch (dt) {
        case Dtype::F32: std::memcpy(buf + j * H, static_cast<const float*>(W) + r * H, H * sizeof(float)); break;
        case Dtype::F16: rk.widen_f16(static_cast<const uint16_t*>(W) + r * H, H, buf + j * H); break;
        case Dtype::BF16: rk.widen_bf16(static_cast<const uint16_t*>(W) + r * H, H, buf + j * H); break;
      }
    }
    for (int64_t k = 0; k < H; ++k) {
      float* dst = Wt + k * ldw + r0;
      for (int64_t j = 0; j < n; ++j) dst[j] = buf[j * H + k];
    }
  }
}

void widen_row(const HiddenView& h, int64_t row, float* out) {
  const RowKernels& rk = row_kernels();
  const int64_t H = h.H;
  switch (h.dtype) {
    case Dtype::F32: std::memcpy(out, static_cast<const float*>(h.data) + row * H, H * sizeof(float)); break;
    case Dtype::F16: rk.widen_f16(static_cast<const uint16_t*>(h.data) + row * H, H, out); break;
    case Dtype::BF16: rk.widen_bf16(static_cast<const uint16_t*>(h.data) + row * H, H, out); break;
  }
}

// One block of hidden rows against one contiguous range of the vocabulary.
struct RangeJob {
  const LmHeadKernels& k;
  const LmHeadView& head;
  const float* X;            // [padded, H]
  const int32_t* targets;    // [count] (this block's)
  int64_t count, padded;
  int64_t tile;              // head rows per tile (a multiple of k.rv)
  int64_t tiles, ranges;
  float* run_max;            // [ranges, count]
  float* run_sum;            // [ranges, count]
  float* target_logit;       // [count], written by the range holding the target

  void operator()(int64_t p) const {
    const int64_t H = head.H;
    const int64_t t0 = p * tiles / ranges, t1 = (p + 1) * tiles / ranges;
    std::vector<float> Wt(static_cast<size_t>(H * tile)), C(static_cast<size_t>(k.rt * tile)), buf(static_cast<size_t>(16 * H));
    float* m = run_max + p * count;
    float* s = run_sum + p * count;
    std::fill(m, m + count, -INFINITY);
    std::fill(s, s + count, 0.f);
    const size_t row_bytes = head.dtype == Dtype::F32 ? 4 : 2;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t v0 = t * tile;
      const int64_t w = std::min(tile, head.V - v0);
      const int64_t wp = (w + k.rv - 1) / k.rv * k.rv;
      widen_transpose(static_cast<const char*>(head.weight) + v0 * H * row_bytes, head.dtype, H, w, Wt.data(), tile, buf.data());
      if (wp > w)  // the panel reads whole register blocks: the columns past the vocabulary are zeros
        for (int64_t kk = 0; kk < H; ++kk) std::fill(Wt.data() + kk * tile + w, Wt.data() + kk * tile + wp, 0.f);
      for (int64_t r0 = 0; r0 < padded; r0 += k.rt) {
        for (int64_t j0 = 0; j0 < wp; j0 += k.rv) k.panel(X + r0 * H, H, Wt.data() + j0, tile, C.data() + j0, tile);
        const int64_t rn = std::min<int64_t>(k.rt, count - r0);
        for (int64_t r = 0; r < rn; ++r) {
          const int64_t n = r0 + r;
          const float* z = C.data() + r * tile;
          const float bm = k.max(z, w);
          if (bm > m[n]) {
            s[n] = s[n] * std::exp(m[n] - bm) + k.sum_exp(z, w, bm);
            m[n] = bm;
          } else {
            // also where bm is NaN: the sum then turns NaN and so does the row's result
            s[n] += k.sum_exp(z, w, m[n]);
          }
          const int64_t tg = targets[n];
          if (tg >= v0 && tg < v0 + w) target_logit[n] = z[tg - v0];
        }
      }
    }
  }
};

}  // namespace

const LmHeadKernels& scalar_lm_head_kernels() { return kScalar; }

const LmHeadKernels& lm_head_kernels() {
  static const LmHeadKernels* chosen = [] {
    if (env_settings().force_scalar) return &kScalar;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    const LmHeadKernels* a512 = avx512_lm_head_kernels();
    if (a512 && __builtin_cpu_supports("avx512f")) return a512;
    const LmHeadKernels* a2 = avx2_lm_head_kernels();
    if (a2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return a2;
#endif
    return &kScalar;
  }();
  return *chosen;
}

void token_log_probs_cpu(const HiddenView& hidden, const int32_t* rows, const int32_t* targets, int64_t N,
                         const LmHeadView& head, float* out, int threads) {
  if (N == 0) return;
  const LmHeadKernels& k = lm_head_kernels();
  const int64_t H = head.H;
  int64_t tile = std::max<int64_t>(k.rv, kTileBytes / 4 / H / k.rv * k.rv);
  tile = std::min(tile, std::max<int64_t>(k.rv, kMaxTile / k.rv * k.rv));
  tile = std::min(tile, (head.V + k.rv - 1) / k.rv * k.rv);
  const int64_t tiles = (head.V + tile - 1) / tile;
  ThreadPool& pool = ThreadPool::instance();
  const int workers = threads <= 0 ? pool.size() : std::min(threads, pool.size());
  // a few ranges per thread balance uneven progress; each costs two floats per row
  const int64_t ranges = std::min<int64_t>(tiles, 4 * static_cast<int64_t>(workers));
  const int64_t block = std::max<int64_t>(k.rt, kBlockBytes / 4 / H / k.rt * k.rt);
  std::vector<float> X, run_max, run_sum, target_logit;
  for (int64_t n0 = 0; n0 < N; n0 += block) {
    const int64_t count = std::min(block, N - n0);
    const int64_t padded = (count + k.rt - 1) / k.rt * k.rt;
    X.assign(static_cast<size_t>(padded * H), 0.f);
    auto gather = [&](int64_t n) { widen_row(hidden, rows[n0 + n], X.data() + n * H); };
    pool.for_each(count, threads, gather);
    run_max.assign(static_cast<size_t>(ranges * count), 0.f);
    run_sum.assign(static_cast<size_t>(ranges * count), 0.f);
    target_logit.assign(static_cast<size_t>(count), NAN);
    RangeJob job{k, head, X.data(), targets + n0, count, padded, tile, tiles, ranges, run_max.data(), run_sum.data(), target_logit.data()};
    pool.for_each(ranges, threads, job);
    for (int64_t n = 0; n < count; ++n) {
      double M = -INFINITY;
      bool nan = false;
      for (int64_t p = 0; p < ranges; ++p) {
        const float m = run_max[p * count + n];
        if (std::isnan(m) || std::isnan(run_sum[p * count + n])) nan = true;
        M = std::max<double>(M, m);
      }
      double S = 0.0;
      for (int64_t p = 0; p < ranges && !nan; ++p) {
        const double m = run_max[p * count + n];
        if (m != -INFINITY) S += run_sum[p * count + n] * std::exp(m - M);
      }
      const double lse = M + std::log(S);
      out[n0 + n] = nan || !std::isfinite(lse) ? NAN : static_cast<float>(target_logit[n] - lse);
    }
  }
}

Check check_token_log_probs(const HiddenView& hidden, const LmHeadView& head, int64_t weight_len, const int32_t* rows,
                            int64_t rows_len, const int32_t* targets, int64_t targets_len, int64_t out_len) {
  auto s = [](int64_t v) { return std::to_string(v); };
  if (head.V < 1 || head.H < 1) return Check::range("head.vocab and head.hidden must be at least 1");
  if (weight_len != head.V * head.H)
    return Check::range("head.weight has " + s(weight_len) + " elements but vocab x hidden = " + s(head.V) + " x " +
                        s(head.H) + " = " + s(head.V * head.H));
  if (hidden.H != head.H)
    return Check::range("hidden.dims H = " + s(hidden.H) + " but the head's hidden size is " + s(head.H));
  if (targets_len != rows_len)
    return Check::range("targets must have one entry per row (rows.length = " + s(rows_len) + "), got " + s(targets_len));
  if (out_len != rows_len) return Check::range("out must have length rows.length = " + s(rows_len) + ", got " + s(out_len));
  const int64_t BT = hidden.B * hidden.T;
  for (int64_t n = 0; n < rows_len; ++n) {
    if (rows[n] < 0 || rows[n] >= BT)
      return Check::range("rows[" + s(n) + "] = " + s(rows[n]) + " is outside [0, B x T = " + s(BT) + ")");
    if (targets[n] < 0 || targets[n] >= head.V)
      return Check::range("targets[" + s(n) + "] = " + s(targets[n]) + " is outside [0, vocab = " + s(head.V) + ")");
  }
  return {};
}

}  // namespace prm
