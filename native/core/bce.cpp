// BCE loss and gradient on the cpu. Every sum is taken in double: the dot products of the
// forward pass, each row's loss, and the gradient accumulators (the row primitives of
// row_kernels.h, AVX2 where the cpu has it). Work is split so that each
// accumulator is summed by one task in a fixed order (rows partitioned by N alone for the
// linear head; hidden units for the MLP), which makes the result independent of the thread
// count and of scheduling: the same inputs give the same bits.
#include "bce.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "row_kernels.h"
#include "thread_pool.h"

namespace prm {
namespace {

// Linear head: rows are cut into at most this many contiguous parts (fewer for small N), each
// with its own gradient accumulator, added up in part order at the end.
constexpr int64_t kMaxParts = 64;
constexpr int64_t kMinRowsPerPart = 32;
// MLP head: rows are processed in chunks of this many (pre-activations of a chunk are kept),
// hidden units in blocks of this many per task.
constexpr int64_t kChunkRows = 256;
constexpr int64_t kUnitBlock = 16;
// The final mean is written in blocks of this many parameters per task.
constexpr int64_t kWriteBlock = 1 << 14;

inline double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
inline double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

// Loss of one row from its head outputs z [K]; dz [K] receives d loss / dz.
double row_loss(const double* z, double y, const BceHead& h, const BceWeights& w, double* dz) {
  const double wp = w.positive * y, wn = w.negative * (1.0 - y);
  if (h.K == 1) {
    // -log sigmoid(z) = softplus(-z), -log(1 - sigmoid(z)) = softplus(z)
    dz[0] = wn * sigmoid(z[0]) - wp * sigmoid(-z[0]);
    return wp * softplus(-z[0]) + wn * softplus(z[0]);
  }
  const int c = h.positive, o = 1 - c;
  const double m = std::max(z[0], z[1]);
  const double lse = m + std::log(std::exp(z[0] - m) + std::exp(z[1] - m));
  dz[c] = (wp + wn) * std::exp(z[c] - lse) - wp;
  dz[o] = (wp + wn) * std::exp(z[o] - lse) - wn;
  return -(wp * (z[c] - lse) + wn * (z[o] - lse));
}

// grad[j] = acc[j] / N as float32, in blocks across the pool.
void write_mean(const double* acc, int64_t P, double N, float* grad, int threads) {
  auto work = [&](int64_t t) {
    const int64_t b = t * kWriteBlock, e = std::min(P, b + kWriteBlock);
    for (int64_t j = b; j < e; ++j) grad[j] = static_cast<float>(acc[j] / N);
  };
  ThreadPool::instance().for_each((P + kWriteBlock - 1) / kWriteBlock, threads, work);
}

double linear(const BceView& v, const BceHead& h, const float* params, const BceWeights& w, float* grad,
              int threads) {
  const int64_t K = h.K, H = v.H, P = K * H + K;
  const float* W = params;
  const float* b = params + K * H;
  const RowKernels& rk = row_kernels();
  const int64_t parts = std::max<int64_t>(1, std::min(kMaxParts, v.N / kMinRowsPerPart));
  std::vector<double> loss(static_cast<size_t>(parts), 0.0);
  std::vector<double> acc(grad ? static_cast<size_t>(parts * P) : 0, 0.0);
  auto work = [&](int64_t p) {
    const int64_t r0 = v.N * p / parts, r1 = v.N * (p + 1) / parts;
    double* g = grad ? acc.data() + p * P : nullptr;
    double z[2], dz[2], l = 0.0;
    for (int64_t i = r0; i < r1; ++i) {
      const float* x = v.rows + i * H;
      for (int64_t k = 0; k < K; ++k) z[k] = b[k] + rk.dot_f64(W + k * H, x, H);
      l += row_loss(z, v.labels[i], h, w, dz);
      if (!g) continue;
      for (int64_t k = 0; k < K; ++k) {
        rk.axpy_f64(g + k * H, dz[k], x, H);
        g[K * H + k] += dz[k];
      }
    }
    loss[p] = l;
  };
  ThreadPool::instance().for_each(parts, threads, work);
  double total = 0.0;
  for (double l : loss) total += l;
  if (grad) {
    // sum the parts in order, in place into part 0
    auto reduce = [&](int64_t t) {
      const int64_t b0 = t * kWriteBlock, e = std::min(P, b0 + kWriteBlock);
      for (int64_t p = 1; p < parts; ++p)
        for (int64_t j = b0; j < e; ++j) acc[j] += acc[p * P + j];
    };
    ThreadPool::instance().for_each((P + kWriteBlock - 1) / kWriteBlock, threads, reduce);
    write_mean(acc.data(), P, static_cast<double>(v.N), grad, threads);
  }
  return total / static_cast<double>(v.N);
}

double mlp(const BceView& v, const BceHead& h, const float* params, const BceWeights& w, float* grad, int threads) {
  const int64_t K = h.K, H = v.H, M = h.M;
  const float* W1 = params;
  const float* b1 = W1 + M * H;
  const float* W2 = b1 + M;
  const float* b2 = W2 + K * M;
  const int64_t P = bce_param_count(h, H);
  const RowKernels& rk = row_kernels();
  // accumulators in the params layout
  std::vector<double> acc(grad ? static_cast<size_t>(P) : 0, 0.0);
  double* gW1 = acc.data();  // null (and unused) without grad
  double* gb1 = grad ? gW1 + M * H : nullptr;
  double* gW2 = grad ? gb1 + M : nullptr;
  double* gb2 = grad ? gW2 + K * M : nullptr;
  std::vector<double> A(static_cast<size_t>(kChunkRows * M));   // pre-activations
  std::vector<double> DA(static_cast<size_t>(kChunkRows * M));  // d loss / d pre-activation
  std::vector<double> DZ(static_cast<size_t>(kChunkRows * K)), L(static_cast<size_t>(kChunkRows));
  const int64_t blocks = (M + kUnitBlock - 1) / kUnitBlock;
  double total = 0.0;
  for (int64_t r0 = 0; r0 < v.N; r0 += kChunkRows) {
    const int64_t n = std::min(kChunkRows, v.N - r0);
    const float* X = v.rows + r0 * H;
    // pre-activations, a block of hidden units per task (its rows of W1 stay in cache)
    auto pre = [&](int64_t blk) {
      for (int64_t m = blk * kUnitBlock, e = std::min(M, m + kUnitBlock); m < e; ++m)
        for (int64_t i = 0; i < n; ++i) A[i * M + m] = b1[m] + rk.dot_f64(W1 + m * H, X + i * H, H);
    };
    ThreadPool::instance().for_each(blocks, threads, pre);
    // per row: output, loss, and the error sent back through the ReLU
    auto rows = [&](int64_t i) {
      const double* a = A.data() + i * M;
      double z[2], dz[2];
      for (int64_t k = 0; k < K; ++k) {
        double s = b2[k];
        const float* wk = W2 + k * M;
        for (int64_t m = 0; m < M; ++m) s += static_cast<double>(wk[m]) * (a[m] > 0 ? a[m] : 0.0);
        z[k] = s;
      }
      L[i] = row_loss(z, v.labels[r0 + i], h, w, dz);
      for (int64_t k = 0; k < K; ++k) DZ[i * K + k] = dz[k];
      if (!grad) return;
      double* da = DA.data() + i * M;
      for (int64_t m = 0; m < M; ++m) {
        double s = 0.0;
        for (int64_t k = 0; k < K; ++k) s += static_cast<double>(W2[k * M + m]) * dz[k];
        da[m] = a[m] > 0 ? s : 0.0;
      }
    };
    ThreadPool::instance().for_each(n, threads, rows);
    for (int64_t i = 0; i < n; ++i) total += L[i];
    if (!grad) continue;
    // gradient of the hidden layer and of W2, a block of hidden units per task
    auto back = [&](int64_t blk) {
      for (int64_t m = blk * kUnitBlock, e = std::min(M, m + kUnitBlock); m < e; ++m)
        for (int64_t i = 0; i < n; ++i) {
          const double d = DA[i * M + m], a = A[i * M + m];
          if (d != 0.0) {
            rk.axpy_f64(gW1 + m * H, d, X + i * H, H);
            gb1[m] += d;
          }
          if (a > 0)
            for (int64_t k = 0; k < K; ++k) gW2[k * M + m] += DZ[i * K + k] * a;
        }
    };
    ThreadPool::instance().for_each(blocks, threads, back);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < K; ++k) gb2[k] += DZ[i * K + k];
  }
  if (grad) write_mean(acc.data(), P, static_cast<double>(v.N), grad, threads);
  return total / static_cast<double>(v.N);
}

}  // namespace

int64_t bce_param_count(const BceHead& head, int64_t H) {
  if (head.kind == TrainHeadKind::Linear) return head.K * H + head.K;
  return head.M * H + head.M + head.K * head.M + head.K;
}

double bce_cpu(const BceView& v, const BceHead& head, const float* params, const BceWeights& w, float* grad,
               int threads) {
  return head.kind == TrainHeadKind::Linear ? linear(v, head, params, w, grad, threads)
                                            : mlp(v, head, params, w, grad, threads);
}

}  // namespace prm
