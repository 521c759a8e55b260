// Scoring straight from host arrays. Only the boundary rows cross the bus (for a logits
// head with columns, only those columns): the host gathers them into pinned staging
// buffers chunk by chunk, and while chunk i is copied and scored on one stream, the host
// gathers chunk i+1 for the other stream.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "prmkit_cuda.h"
#include "staging.h"

namespace prm {
namespace cuda {
namespace {

constexpr size_t kMinChunkBytes = size_t(1) << 20;
constexpr size_t kMaxChunkBytes = size_t(16) << 20;

// Four or more chunks on big batches so the pipeline has something to overlap, capped so
// the two staging slots stay small; tiny batches go in one piece.
int64_t rows_per_chunk(int64_t S, size_t row_bytes) {
  const size_t total = static_cast<size_t>(S) * row_bytes;
  const size_t chunk = std::clamp(total / 4, kMinChunkBytes, kMaxChunkBytes);
  return std::max<int64_t>(1, static_cast<int64_t>(chunk / std::max<size_t>(row_bytes, 1)));
}

// What the host copies for one step: the whole row, or just the head's logits columns.
struct RowSource {
  const char* data;
  int64_t T;
  size_t full_row_bytes, esize;
  const int32_t* columns;  // null: whole rows
  int32_t K;
  const int32_t* positions;
  const int32_t* candidate;  // host copy, [S]

  size_t staged_row_bytes() const { return columns ? esize * K : full_row_bytes; }

  void gather(int64_t s0, int64_t s1, char* dst, int threads) const {
    const size_t rb = staged_row_bytes();
    parallel_ranges(s1 - s0, 64, threads, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) {
        const int64_t s = s0 + i;
        const char* row = data + (static_cast<int64_t>(candidate[s]) * T + positions[s]) * full_row_bytes;
        char* out = dst + i * rb;
        if (!columns) {
          std::memcpy(out, row, rb);
        } else {
          for (int32_t k = 0; k < K; ++k) std::memcpy(out + k * esize, row + columns[k] * esize, esize);
        }
      }
    });
  }
};

void score_impl(const HiddenView& hidden, const BoundariesView& bounds, const HeadView& head, double threshold,
                const ScoreOut& out, int threads) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  const int64_t B = hidden.B, S = bounds.S;
  const size_t esize = dtype_size(hidden.dtype);
  // a logits head with columns: stage only those columns, then score them as a whole row
  const bool pick_on_host = head.kind == HeadKind::Logits && head.columns;

  DeviceArgs args;
  DeviceOutputs outs;
  Block pinned[2], staged[2];
  SyncOnUnwind sync_on_unwind(ctx);
  cudaStream_t s0 = ctx.streams[0], s1 = ctx.streams[1];

  uint32_t* counters = ctx.counters(B, s0);
  upload_args(args, bounds, B, head, hidden.H, false, false, s0);
  outs.allocate(S, B);
  PRM_CUDA_CHECK(cudaEventRecord(ctx.finished[0], s0));
  PRM_CUDA_CHECK(cudaStreamWaitEvent(s1, ctx.finished[0], 0));

  const RowSource src{static_cast<const char*>(hidden.data), hidden.T, esize * static_cast<size_t>(hidden.H), esize,
                      pick_on_host ? head.columns : nullptr, head.K, bounds.positions, args.host_candidate};
  const size_t rb = src.staged_row_bytes();
  ScoreParams p = base_params(args, outs, head, B, threshold, counters);
  p.row_stride = static_cast<int64_t>(rb);
  p.row_elems = pick_on_host ? head.K : hidden.H;
  p.T = hidden.T;
  p.positions = nullptr;  // compact rows
  if (pick_on_host) p.columns = nullptr;
  p.vector_loads = rb % 16 == 0;  // staging blocks are 256-byte aligned

  const int64_t chunk = rows_per_chunk(S, rb);
  const int64_t chunks = S == 0 ? 0 : (S + chunk - 1) / chunk;
  for (int k = 0; k < 2 && k < chunks; ++k) {
    pinned[k] = Block(pinned_cache(), static_cast<size_t>(std::min(chunk, S)) * rb);
    staged[k] = Block(device_cache(), static_cast<size_t>(std::min(chunk, S)) * rb);
  }
  if (chunks == 0) {  // nothing to score: every chain is empty
    p.step_begin = p.step_end = 0;
    p.fill_empty = true;
    launch_fused_score(p, hidden.dtype, ctx.sm_count, s0);
  }
  for (int64_t i = 0; i < chunks; ++i) {
    const int k = static_cast<int>(i & 1);
    const int64_t c0 = i * chunk, c1 = std::min(S, c0 + chunk);
    if (i >= 2) PRM_CUDA_CHECK(cudaEventSynchronize(ctx.staged[k]));  // slot k's previous copy has left
    src.gather(c0, c1, pinned[k].as(), threads);
    PRM_CUDA_CHECK(cudaMemcpyAsync(staged[k].as(), pinned[k].as(), static_cast<size_t>(c1 - c0) * rb,
                                   cudaMemcpyHostToDevice, ctx.streams[k]));
    PRM_CUDA_CHECK(cudaEventRecord(ctx.staged[k], ctx.streams[k]));
    p.rows = staged[k].as();
    p.step_begin = static_cast<int32_t>(c0);
    p.step_end = static_cast<int32_t>(c1);
    p.fill_empty = i == 0;
    launch_fused_score(p, hidden.dtype, ctx.sm_count, ctx.streams[k]);
  }
  PRM_CUDA_CHECK(cudaEventRecord(ctx.finished[1], s1));
  PRM_CUDA_CHECK(cudaStreamWaitEvent(s0, ctx.finished[1], 0));
  outs.copy_back(s0);
  PRM_CUDA_CHECK(cudaStreamSynchronize(s0));
  outs.scatter(out);
}

void gather_impl(const HiddenView& hidden, const BoundariesView& bounds, float* out, int threads) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  const int64_t B = hidden.B, S = bounds.S, H = hidden.H;
  const size_t esize = dtype_size(hidden.dtype);
  if (S == 0 || H == 0) return;

  Block cand_block, pin_in[2], dev_in[2], dev_out[2], pin_out[2];
  SyncOnUnwind sync_on_unwind(ctx);
  cand_block = Block(pinned_cache(), sizeof(int32_t) * S);
  int32_t* cand = cand_block.as<int32_t>();
  for (int64_t b = 0; b < B; ++b)
    for (int32_t s = bounds.offsets[b]; s < bounds.offsets[b + 1]; ++s) cand[s] = static_cast<int32_t>(b);
  const RowSource src{static_cast<const char*>(hidden.data), hidden.T, esize * static_cast<size_t>(H), esize,
                      nullptr, 0, bounds.positions, cand};
  const size_t rb = src.staged_row_bytes();
  const int64_t chunk = rows_per_chunk(S, rb + sizeof(float) * H);
  const int64_t chunks = (S + chunk - 1) / chunk;
  for (int k = 0; k < 2 && k < chunks; ++k) {
    const size_t rows = static_cast<size_t>(std::min(chunk, S));
    pin_in[k] = Block(pinned_cache(), rows * rb);
    dev_in[k] = Block(device_cache(), rows * rb);
    dev_out[k] = Block(device_cache(), rows * sizeof(float) * H);
    pin_out[k] = Block(pinned_cache(), rows * sizeof(float) * H);
  }
  int64_t pending[2] = {-1, -1};  // chunk whose result sits in slot k
  auto drain = [&](int k) {
    if (pending[k] < 0) return;
    PRM_CUDA_CHECK(cudaEventSynchronize(ctx.finished[k]));
    const int64_t c0 = pending[k] * chunk, c1 = std::min(S, c0 + chunk);
    std::memcpy(out + c0 * H, pin_out[k].as(), static_cast<size_t>(c1 - c0) * sizeof(float) * H);
    pending[k] = -1;
  };
  for (int64_t i = 0; i < chunks; ++i) {
    const int k = static_cast<int>(i & 1);
    const int64_t c0 = i * chunk, c1 = std::min(S, c0 + chunk), n = c1 - c0;
    drain(k);
    src.gather(c0, c1, pin_in[k].as(), threads);
    cudaStream_t st = ctx.streams[k];
    PRM_CUDA_CHECK(cudaMemcpyAsync(dev_in[k].as(), pin_in[k].as(), n * rb, cudaMemcpyHostToDevice, st));
    launch_widen(dev_in[k].as(), hidden.dtype, n * H, dev_out[k].as<float>(), st);
    PRM_CUDA_CHECK(cudaMemcpyAsync(pin_out[k].as(), dev_out[k].as(), n * sizeof(float) * H, cudaMemcpyDeviceToHost, st));
    PRM_CUDA_CHECK(cudaEventRecord(ctx.finished[k], st));
    pending[k] = i;
  }
  drain(0);
  drain(1);
}

// Small host arrays in, small host arrays out: one block each way.
void first_error_impl(const float* lp, const int32_t* offsets, int64_t B, double threshold, int32_t* out) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  const int64_t S = offsets[B];
  Layout l;
  const size_t lp_at = l.add(sizeof(float) * S), off_at = l.add(sizeof(int32_t) * (B + 1)),
               out_at = l.add(sizeof(int32_t) * B);
  Block host, dev;
  SyncOnUnwind sync_on_unwind(ctx);
  host = Block(pinned_cache(), l.size());
  dev = Block(device_cache(), l.size());
  std::memcpy(host.as(lp_at), lp, sizeof(float) * S);
  std::memcpy(host.as(off_at), offsets, sizeof(int32_t) * (B + 1));
  cudaStream_t st = ctx.streams[0];
  PRM_CUDA_CHECK(cudaMemcpyAsync(dev.as(), host.as(), out_at, cudaMemcpyHostToDevice, st));
  launch_first_error(dev.as<float>(lp_at), dev.as<int32_t>(off_at), B, std::log(static_cast<double>(threshold)),
                     dev.as<int32_t>(out_at), ctx.sm_count, st);
  PRM_CUDA_CHECK(cudaMemcpyAsync(host.as(out_at), dev.as(out_at), sizeof(int32_t) * B, cudaMemcpyDeviceToHost, st));
  PRM_CUDA_CHECK(cudaStreamSynchronize(st));
  std::memcpy(out, host.as(out_at), sizeof(int32_t) * B);
}

void rank_groups_impl(const float* scores, const int32_t* goff, int64_t G, int32_t* out) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  const int64_t N = goff[G];
  Layout l;
  const size_t sc_at = l.add(sizeof(float) * N), off_at = l.add(sizeof(int32_t) * (G + 1)),
               out_at = l.add(sizeof(int32_t) * N);
  Block host, dev;
  SyncOnUnwind sync_on_unwind(ctx);
  host = Block(pinned_cache(), l.size());
  dev = Block(device_cache(), l.size());
  std::memcpy(host.as(sc_at), scores, sizeof(float) * N);
  std::memcpy(host.as(off_at), goff, sizeof(int32_t) * (G + 1));
  cudaStream_t st = ctx.streams[0];
  PRM_CUDA_CHECK(cudaMemcpyAsync(dev.as(), host.as(), out_at, cudaMemcpyHostToDevice, st));
  launch_rank_groups(dev.as<float>(sc_at), dev.as<int32_t>(off_at), G, dev.as<int32_t>(out_at), st);
  PRM_CUDA_CHECK(cudaMemcpyAsync(host.as(out_at), dev.as(out_at), sizeof(int32_t) * N, cudaMemcpyDeviceToHost, st));
  PRM_CUDA_CHECK(cudaStreamSynchronize(st));
  std::memcpy(out, host.as(out_at), sizeof(int32_t) * N);
}

}  // namespace

std::string score(const HiddenView& hidden, const BoundariesView& bounds, const HeadView& head, double threshold,
                  const ScoreOut& out, int threads) {
  return guarded([&] { score_impl(hidden, bounds, head, threshold, out, threads); });
}

std::string gather_rows(const HiddenView& hidden, const BoundariesView& bounds, float* out, int threads) {
  return guarded([&] { gather_impl(hidden, bounds, out, threads); });
}

std::string first_error(const float* lp, const int32_t* offsets, int64_t B, double threshold, int32_t* out) {
  return guarded([&] { first_error_impl(lp, offsets, B, threshold, out); });
}

std::string rank_groups(const float* scores, const int32_t* group_offsets, int64_t G, int32_t* out) {
  return guarded([&] { rank_groups_impl(scores, group_offsets, G, out); });
}

}  // namespace cuda
}  // namespace prm
