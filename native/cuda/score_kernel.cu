// The fused step-scoring kernel: a warp per boundary row gathers the row with 16-byte
// vector loads, applies the head, takes the stable log-score, and the warp that scores a
// candidate's last outstanding step reduces that candidate. Steps are counted with integer
// atomics only; the float reductions run in one warp in a fixed order, so results are
// deterministic.
#include <climits>

#include "check.h"
#include "device_math.cuh"
#include "kernels.h"

namespace prm {
namespace cuda {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kThreads = kWarpsPerBlock * 32;

__device__ __forceinline__ const char* row_of(const ScoreParams& p, int64_t s) {
  if (!p.positions) return p.rows + (s - p.step_begin) * p.row_stride;
  return p.rows + (static_cast<int64_t>(p.candidate[s]) * p.T + p.positions[s]) * p.row_stride;
}

// ---- head + log-score of one row (result valid in every lane) ----

template <Dtype D, int KB>
__device__ float linear_step(const ScoreParams& p, const char* row, int lane) {
  float acc[KB];
#pragma unroll
  for (int k = 0; k < KB; ++k) acc[k] = 0.f;
  const int64_t H = p.row_elems;
  const int K = p.K;
  if (p.vector_loads) {
    constexpr int V = Elem<D>::kPerVec;
    const uint4* rv = reinterpret_cast<const uint4*>(row);
    const int64_t nv = H / V;
#pragma unroll 4
    for (int64_t i = lane; i < nv; i += 32) {
      float x[V];
      Elem<D>::unpack(__ldcs(rv + i), x);
#pragma unroll
      for (int k = 0; k < KB; ++k) {
        if (k < K) {
          const float4* w = reinterpret_cast<const float4*>(p.weight + k * H + i * V);
#pragma unroll
          for (int j = 0; j < V / 4; ++j) {
            const float4 wv = __ldg(w + j);
            acc[k] = fmaf(x[4 * j], wv.x, acc[k]);
            acc[k] = fmaf(x[4 * j + 1], wv.y, acc[k]);
            acc[k] = fmaf(x[4 * j + 2], wv.z, acc[k]);
            acc[k] = fmaf(x[4 * j + 3], wv.w, acc[k]);
          }
        }
      }
    }
  } else {
    for (int64_t i = lane; i < H; i += 32) {
      const float x = Elem<D>::load(row, i);
#pragma unroll
      for (int k = 0; k < KB; ++k)
        if (k < K) acc[k] = fmaf(x, __ldg(p.weight + k * H + i), acc[k]);
    }
  }
#pragma unroll
  for (int k = 0; k < KB; ++k) {
    acc[k] = warp_sum(acc[k]);
    if (p.bias && k < K) acc[k] += __ldg(p.bias + k);
  }
  if (p.activation == Activation::Sigmoid) return static_cast<float>(log_sigmoid(acc[0]));
  return log_softmax_regs<KB>(acc, K, p.positive);
}

// log softmax over K <= 64 picked logits: lane k holds logits k and k + 32.
__device__ float picked_log_softmax(float za, bool va, float zb, bool vb, int positive) {
  const bool nan = __any_sync(kFullMask, (va && isnan(za)) || (vb && isnan(zb)));
  const float m = warp_max(fmaxf(va ? za : -inf_f(), vb ? zb : -inf_f()));
  const float zp = __shfl_sync(kFullMask, positive < 32 ? za : zb, positive & 31);
  if (nan || isinf(m)) return nan_f();
  double s = (va ? exp(static_cast<double>(za) - m) : 0.0) + (vb ? exp(static_cast<double>(zb) - m) : 0.0);
  s = warp_sum(s);
  return static_cast<float>(static_cast<double>(zp) - m - log(s));
}

// Online softmax over a whole row: each lane keeps a running max and a sum rescaled to it,
// and the lanes' pairs are merged at the end. -inf logits contribute nothing.
template <Dtype D>
__device__ float full_row_log_softmax(const ScoreParams& p, const char* row, int lane) {
  float m = -inf_f();
  double s = 0.0;
  bool nan = false;
  auto push = [&](float z) {
    if (isnan(z)) {
      nan = true;
    } else if (z > m) {
      s = s * static_cast<double>(expf(m - z)) + 1.0;
      m = z;
    } else if (z != -inf_f()) {
      s += static_cast<double>(expf(z - m));
    }
  };
  const int64_t n = p.row_elems;
  if (p.vector_loads) {
    constexpr int V = Elem<D>::kPerVec;
    const uint4* rv = reinterpret_cast<const uint4*>(row);
    for (int64_t i = lane; i < n / V; i += 32) {
      float x[V];
      Elem<D>::unpack(__ldcs(rv + i), x);
#pragma unroll
      for (int j = 0; j < V; ++j) push(x[j]);
    }
  } else {
    for (int64_t i = lane; i < n; i += 32) push(Elem<D>::load(row, i));
  }
  const bool any_nan = __any_sync(kFullMask, nan);
  const float M = warp_max(m);
  double part = (s > 0.0 && !isinf(M)) ? s * exp(static_cast<double>(m) - M) : 0.0;
  part = warp_sum(part);
  if (any_nan || isinf(M)) return nan_f();
  const float zp = Elem<D>::load(row, p.positive);
  return static_cast<float>(static_cast<double>(zp) - M - log(part));
}

template <Dtype D>
__device__ float logits_step(const ScoreParams& p, const char* row, int lane) {
  if (p.columns) {
    const bool va = lane < p.K, vb = lane + 32 < p.K;
    const float za = va ? Elem<D>::load(row, __ldg(p.columns + lane)) : 0.f;
    const float zb = vb ? Elem<D>::load(row, __ldg(p.columns + lane + 32)) : 0.f;
    if (p.activation == Activation::Sigmoid)
      return static_cast<float>(log_sigmoid(__shfl_sync(kFullMask, za, 0)));
    return picked_log_softmax(za, va, zb, vb, p.positive);
  }
  if (p.activation == Activation::Sigmoid) return static_cast<float>(log_sigmoid(Elem<D>::load(row, 0)));
  return full_row_log_softmax<D>(p, row, lane);
}

// ---- per-candidate reduction (reduce_chain of log_score.h, one warp) ----

__device__ void write_chain(const ScoreParams& p, int32_t b, const float (&v)[kNumAggregations], int32_t fe) {
#pragma unroll
  for (int a = 0; a < kNumAggregations; ++a) p.aggregates[a * p.B + b] = v[a];
  p.first_error[b] = fe;
}

__device__ void reduce_chain_warp(const ScoreParams& p, int32_t b, int32_t s0, int32_t n, int lane) {
  // __ldcg: the other warps' step results are read from L2, past this SM's L1.
  const float* lp = p.step_log_probs + s0;
  bool nan = false;
  double sum = 0.0;
  float mn = inf_f(), mx = -inf_f();
  int fe = INT_MAX;
  for (int i = lane; i < n; i += 32) {
    const float v = __ldcg(lp + i);
    if (isnan(v)) {
      nan = true;
      continue;
    }
    if (fe == INT_MAX && static_cast<double>(v) < p.log_threshold) fe = i;
    sum += v;
    mn = fminf(mn, v);
    mx = fmaxf(mx, v);
  }
  nan = __any_sync(kFullMask, nan);
  fe = warp_min(fe);
  float out[kNumAggregations] = {nan_f(), nan_f(), nan_f(), nan_f(), nan_f()};
  if (!nan) {
    sum = warp_sum(sum);
    mn = warp_min(mn);
    mx = warp_max(mx);
    double mean;
    if (isinf(mx) && mx < 0) {
      mean = mx;  // every p is 0
    } else {
      double se = 0.0;
      for (int i = lane; i < n; i += 32) se += exp(static_cast<double>(__ldcg(lp + i)) - mx);
      se = warp_sum(se);
      mean = mx + log(se / n);
    }
    out[kProd] = static_cast<float>(sum);
    out[kMin] = mn;
    out[kLast] = __ldcg(lp + n - 1);
    out[kMean] = static_cast<float>(mean);
    out[kGeomean] = static_cast<float>(sum / n);
  }
  if (lane == 0) write_chain(p, b, out, fe == INT_MAX ? -1 : fe);
}

__device__ void finish_step(const ScoreParams& p, int64_t s, float lp, int lane) {
  const int32_t b = p.candidate[s];
  const int32_t s0 = p.offsets[b], n = p.offsets[b + 1] - s0;
  unsigned last = 0;
  if (lane == 0) {
    p.step_log_probs[s] = lp;
    __threadfence();  // publish lp before counting the step
    last = atomicAdd(p.done + b, 1u) == static_cast<unsigned>(n - 1);
  }
  last = __shfl_sync(kFullMask, last, 0);
  if (!last) return;
  __threadfence();
  reduce_chain_warp(p, b, s0, n, lane);
  if (lane == 0) p.done[b] = 0;  // every step of b is counted: ready for the next call
}

__device__ void fill_empty_chains(const ScoreParams& p) {
  const float nan[kNumAggregations] = {nan_f(), nan_f(), nan_f(), nan_f(), nan_f()};
  for (int64_t b = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; b < p.B; b += int64_t(gridDim.x) * blockDim.x)
    if (p.offsets[b] == p.offsets[b + 1]) write_chain(p, static_cast<int32_t>(b), nan, -1);
}

// KB > 0: linear head with K <= KB outputs; KB == 0: logits head.
template <Dtype D, int KB>
__global__ void __launch_bounds__(kThreads) fused_score(const ScoreParams p) {
  if (p.fill_empty) fill_empty_chains(p);
  const int lane = threadIdx.x & 31;
  const int64_t first = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t stride = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t s = p.step_begin + first; s < p.step_end; s += stride) {
    const char* row = row_of(p, s);
    float lp;
    if constexpr (KB > 0)
      lp = linear_step<D, KB>(p, row, lane);
    else
      lp = logits_step<D>(p, row, lane);
    finish_step(p, s, lp, lane);
  }
}

template <Dtype D>
void launch_dtype(const ScoreParams& p, dim3 grid, cudaStream_t st) {
  if (p.kind == HeadKind::Logits)
    fused_score<D, 0><<<grid, kThreads, 0, st>>>(p);
  else if (p.K <= 1)
    fused_score<D, 1><<<grid, kThreads, 0, st>>>(p);
  else if (p.K <= 2)
    fused_score<D, 2><<<grid, kThreads, 0, st>>>(p);
  else if (p.K <= 8)
    fused_score<D, 8><<<grid, kThreads, 0, st>>>(p);
  else
    fused_score<D, kMaxLinearOutputs><<<grid, kThreads, 0, st>>>(p);
}

}  // namespace

void launch_fused_score(const ScoreParams& p, Dtype dtype, int sm_count, cudaStream_t stream) {
  const int64_t rows = p.step_end - p.step_begin;
  int64_t blocks = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (p.fill_empty) blocks = std::max<int64_t>(blocks, (p.B + kThreads - 1) / kThreads);
  // enough resident warps to keep every SM's memory pipeline full; the rest grid-strides
  blocks = std::min<int64_t>(std::max<int64_t>(blocks, 1), int64_t(sm_count) * 16);
  if (rows == 0 && !p.fill_empty) return;
  const dim3 grid(static_cast<unsigned>(blocks));
  switch (dtype) {
    case Dtype::F32: launch_dtype<Dtype::F32>(p, grid, stream); break;
    case Dtype::F16: launch_dtype<Dtype::F16>(p, grid, stream); break;
    case Dtype::BF16: launch_dtype<Dtype::BF16>(p, grid, stream); break;
  }
  PRM_CUDA_CHECK_LAUNCH("fused_score<<<>>>");
}

}  // namespace cuda
}  // namespace prm
