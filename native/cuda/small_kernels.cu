// The kernels around the fused one: widening copies for gatherRows, firstError over
// precomputed step log-probs, and per-group ranking.
#include <climits>

#include "check.h"
#include "device_math.cuh"
#include "kernels.h"

namespace prm {
namespace cuda {
namespace {

template <Dtype D>
__global__ void widen(const char* src, int64_t n, float* dst) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = Elem<D>::load(src, i);
}

template <Dtype D>
__global__ void gather_resident(const char* rows, int64_t T, int64_t H, const int32_t* positions,
                                const int32_t* candidate, int64_t S, float* dst) {
  const int lane = threadIdx.x & 31;
  const int64_t row_bytes = H * static_cast<int64_t>(sizeof(typename std::conditional<D == Dtype::F32, float, uint16_t>::type));
  for (int64_t s = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; s < S;
       s += (int64_t(gridDim.x) * blockDim.x) >> 5) {
    const char* row = rows + (static_cast<int64_t>(candidate[s]) * T + positions[s]) * row_bytes;
    float* out = dst + s * H;
    for (int64_t i = lane; i < H; i += 32) out[i] = Elem<D>::load(row, i);
  }
}

// A warp per candidate: the smallest step index below the threshold.
__global__ void first_error_kernel(const float* lp, const int32_t* offsets, int64_t B, double log_thr, int32_t* out) {
  const int lane = threadIdx.x & 31;
  for (int64_t b = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; b < B;
       b += (int64_t(gridDim.x) * blockDim.x) >> 5) {
    const int32_t s0 = offsets[b], n = offsets[b + 1] - s0;
    int fe = INT_MAX;
    for (int i = lane; i < n && fe == INT_MAX; i += 32)
      if (static_cast<double>(lp[s0 + i]) < log_thr) fe = i;
    fe = warp_min(fe);
    if (lane == 0) out[b] = fe == INT_MAX ? -1 : fe;
  }
}

// Whether candidate a ranks before b: higher score first, NaN last, ties by index.
__device__ __forceinline__ bool before(float x, int32_t a, float y, int32_t b) {
  const bool xn = isnan(x), yn = isnan(y);
  if (xn != yn) return yn;
  if (!xn && x != y) return x > y;
  return a < b;
}

// A block per group; each member's rank is the number of members that precede it, so the
// order is total and deterministic without a sort (groups are candidates of one problem,
// rarely more than a few hundred).
__global__ void rank_groups_kernel(const float* scores, const int32_t* goff, int64_t G, int32_t* out) {
  for (int64_t g = blockIdx.x; g < G; g += gridDim.x) {
    const int32_t g0 = goff[g], g1 = goff[g + 1];
    for (int32_t i = g0 + threadIdx.x; i < g1; i += blockDim.x) {
      const float x = scores[i];
      int32_t rank = 0;
      for (int32_t j = g0; j < g1; ++j) rank += before(__ldg(scores + j), j, x, i);
      out[g0 + rank] = i;
    }
  }
}

unsigned grid_for(int64_t work, int per_block, int64_t cap) {
  const int64_t b = (work + per_block - 1) / per_block;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(b, cap)));
}

}  // namespace

void launch_widen(const void* src, Dtype dtype, int64_t n, float* dst, cudaStream_t st) {
  if (n == 0) return;
  const unsigned grid = grid_for(n, 256, 65535);
  const char* s = static_cast<const char*>(src);
  switch (dtype) {
    case Dtype::F32: widen<Dtype::F32><<<grid, 256, 0, st>>>(s, n, dst); break;
    case Dtype::F16: widen<Dtype::F16><<<grid, 256, 0, st>>>(s, n, dst); break;
    case Dtype::BF16: widen<Dtype::BF16><<<grid, 256, 0, st>>>(s, n, dst); break;
  }
  PRM_CUDA_CHECK_LAUNCH("widen<<<>>>");
}

void launch_gather_resident(const char* rows, Dtype dtype, int64_t T, int64_t H, const int32_t* positions,
                            const int32_t* candidate, int64_t S, float* dst, int sm_count, cudaStream_t st) {
  if (S == 0) return;
  const unsigned grid = grid_for(S, 8, int64_t(sm_count) * 16);
  switch (dtype) {
    case Dtype::F32: gather_resident<Dtype::F32><<<grid, 256, 0, st>>>(rows, T, H, positions, candidate, S, dst); break;
    case Dtype::F16: gather_resident<Dtype::F16><<<grid, 256, 0, st>>>(rows, T, H, positions, candidate, S, dst); break;
    case Dtype::BF16: gather_resident<Dtype::BF16><<<grid, 256, 0, st>>>(rows, T, H, positions, candidate, S, dst); break;
  }
  PRM_CUDA_CHECK_LAUNCH("gather_resident<<<>>>");
}

void launch_first_error(const float* lp, const int32_t* offsets, int64_t B, double log_thr, int32_t* out,
                        int sm_count, cudaStream_t st) {
  if (B == 0) return;
  first_error_kernel<<<grid_for(B, 8, int64_t(sm_count) * 16), 256, 0, st>>>(lp, offsets, B, log_thr, out);
  PRM_CUDA_CHECK_LAUNCH("first_error_kernel<<<>>>");
}

void launch_rank_groups(const float* scores, const int32_t* goff, int64_t G, int32_t* out, cudaStream_t st) {
  if (G == 0) return;
  rank_groups_kernel<<<grid_for(G, 1, 65535), 128, 0, st>>>(scores, goff, G, out);
  PRM_CUDA_CHECK_LAUNCH("rank_groups_kernel<<<>>>");
}

}  // namespace cuda
}  // namespace prm
