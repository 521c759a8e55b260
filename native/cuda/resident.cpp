// Device-resident hidden states: one upload, many scorings. Pays when the same [B, T, H]
// is scored more than once (several heads, thresholds or aggregations; a search step that
// rescores), or when only a small fraction of rows would otherwise be staged per call but
// the hidden states are produced once and kept: each later call moves only the boundaries
// and the head up, and S + 6B numbers back.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "prmkit_cuda.h"
#include "staging.h"

namespace prm {
namespace cuda {

class Resident {
 public:
  Block mem;
  ResidentShape shape{};
};

namespace {

constexpr size_t kUploadChunk = size_t(16) << 20;

void upload_impl(const HiddenView& hidden, ResidentPtr* out, int threads) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  const size_t bytes = dtype_size(hidden.dtype) * static_cast<size_t>(hidden.B * hidden.T * hidden.H);
  auto r = std::make_shared<Resident>();
  r->shape = {hidden.dtype, hidden.B, hidden.T, hidden.H, bytes};
  Block pinned[2];
  SyncOnUnwind sync_on_unwind(ctx);
  r->mem = Block(device_cache(), std::max<size_t>(bytes, 1));
  const size_t chunk = std::min(bytes, kUploadChunk);
  const size_t chunks = bytes == 0 ? 0 : (bytes + chunk - 1) / chunk;
  for (int k = 0; k < 2 && static_cast<size_t>(k) < chunks; ++k) pinned[k] = Block(pinned_cache(), chunk);
  const char* src = static_cast<const char*>(hidden.data);
  for (size_t i = 0; i < chunks; ++i) {
    const int k = static_cast<int>(i & 1);
    const size_t at = i * chunk, n = std::min(chunk, bytes - at);
    if (i >= 2) PRM_CUDA_CHECK(cudaEventSynchronize(ctx.staged[k]));
    char* dst = pinned[k].as();
    parallel_ranges(static_cast<int64_t>(n), int64_t(1) << 20, threads,
                    [&](int64_t a, int64_t b) { std::memcpy(dst + a, src + at + a, static_cast<size_t>(b - a)); });
    PRM_CUDA_CHECK(cudaMemcpyAsync(r->mem.as(at), dst, n, cudaMemcpyHostToDevice, ctx.streams[k]));
    PRM_CUDA_CHECK(cudaEventRecord(ctx.staged[k], ctx.streams[k]));
  }
  PRM_CUDA_CHECK(cudaStreamSynchronize(ctx.streams[0]));
  PRM_CUDA_CHECK(cudaStreamSynchronize(ctx.streams[1]));
  *out = std::move(r);
}

// The launch parameters of a resident call, with its argument and output blocks.
struct ResidentCall {
  DeviceArgs args;
  DeviceOutputs outs;
  ScoreParams p{};

  void prepare(Context& ctx, const Resident& r, const BoundariesView& bounds, const HeadView& head, double threshold) {
    const ResidentShape& sh = r.shape;
    cudaStream_t st = ctx.streams[0];
    uint32_t* counters = ctx.counters(sh.B, st);
    upload_args(args, bounds, sh.B, head, sh.H, true, true, st);
    outs.allocate(bounds.S, sh.B);
    p = base_params(args, outs, head, sh.B, threshold, counters);
    p.rows = r.mem.as();
    p.row_stride = static_cast<int64_t>(dtype_size(sh.dtype)) * sh.H;
    p.row_elems = sh.H;
    p.T = sh.T;
    p.step_begin = 0;
    p.step_end = static_cast<int32_t>(bounds.S);
    p.fill_empty = true;
    p.vector_loads = p.row_stride % 16 == 0;  // device blocks are 256-byte aligned
  }
};

void score_resident_impl(const Resident& r, const BoundariesView& bounds, const HeadView& head, double threshold,
                         const ScoreOut& out) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  ResidentCall call;
  SyncOnUnwind sync_on_unwind(ctx);
  cudaStream_t st = ctx.streams[0];
  call.prepare(ctx, r, bounds, head, threshold);
  launch_fused_score(call.p, r.shape.dtype, ctx.sm_count, st);
  call.outs.copy_back(st);
  PRM_CUDA_CHECK(cudaStreamSynchronize(st));
  call.outs.scatter(out);
}

void gather_resident_impl(const Resident& r, const BoundariesView& bounds, float* out) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  const ResidentShape& sh = r.shape;
  const int64_t S = bounds.S;
  if (S == 0 || sh.H == 0) return;
  DeviceArgs args;
  Block dev_out, host_out;
  SyncOnUnwind sync_on_unwind(ctx);
  cudaStream_t st = ctx.streams[0];
  HeadView none{};
  none.kind = HeadKind::Logits;
  upload_args(args, bounds, sh.B, none, sh.H, true, false, st);
  const size_t bytes = sizeof(float) * static_cast<size_t>(S * sh.H);
  dev_out = Block(device_cache(), bytes);
  host_out = Block(pinned_cache(), bytes);
  launch_gather_resident(r.mem.as(), sh.dtype, sh.T, sh.H, args.positions, args.candidate, S, dev_out.as<float>(),
                         ctx.sm_count, st);
  PRM_CUDA_CHECK(cudaMemcpyAsync(host_out.as(), dev_out.as(), bytes, cudaMemcpyDeviceToHost, st));
  PRM_CUDA_CHECK(cudaStreamSynchronize(st));
  std::memcpy(out, host_out.as(), bytes);
}

void time_impl(const Resident& r, const BoundariesView& bounds, const HeadView& head, double threshold, int iters,
               double* ms) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  ResidentCall call;
  SyncOnUnwind sync_on_unwind(ctx);
  cudaStream_t st = ctx.streams[0];
  call.prepare(ctx, r, bounds, head, threshold);
  launch_fused_score(call.p, r.shape.dtype, ctx.sm_count, st);  // warm-up
  PRM_CUDA_CHECK(cudaEventRecord(ctx.timing[0], st));
  for (int i = 0; i < iters; ++i) launch_fused_score(call.p, r.shape.dtype, ctx.sm_count, st);
  PRM_CUDA_CHECK(cudaEventRecord(ctx.timing[1], st));
  PRM_CUDA_CHECK(cudaEventSynchronize(ctx.timing[1]));
  float total = 0.f;
  PRM_CUDA_CHECK(cudaEventElapsedTime(&total, ctx.timing[0], ctx.timing[1]));
  *ms = static_cast<double>(total) / std::max(iters, 1);
}

void bandwidth_impl(size_t bytes, int iters, double* bps) {
  Context& ctx = context();
  std::lock_guard<std::mutex> lock(ctx.mutex);
  PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
  Block a, b;
  SyncOnUnwind sync_on_unwind(ctx);
  a = Block(device_cache(), bytes);
  b = Block(device_cache(), bytes);
  cudaStream_t st = ctx.streams[0];
  PRM_CUDA_CHECK(cudaMemsetAsync(a.as(), 1, bytes, st));
  PRM_CUDA_CHECK(cudaMemcpyAsync(b.as(), a.as(), bytes, cudaMemcpyDeviceToDevice, st));  // warm-up
  PRM_CUDA_CHECK(cudaEventRecord(ctx.timing[0], st));
  for (int i = 0; i < iters; ++i) PRM_CUDA_CHECK(cudaMemcpyAsync(b.as(), a.as(), bytes, cudaMemcpyDeviceToDevice, st));
  PRM_CUDA_CHECK(cudaEventRecord(ctx.timing[1], st));
  PRM_CUDA_CHECK(cudaEventSynchronize(ctx.timing[1]));
  float ms = 0.f;
  PRM_CUDA_CHECK(cudaEventElapsedTime(&ms, ctx.timing[0], ctx.timing[1]));
  *bps = 2.0 * static_cast<double>(bytes) * iters / (static_cast<double>(ms) * 1e-3);
}

}  // namespace

std::string upload(const HiddenView& hidden, ResidentPtr* out, int threads) {
  return guarded([&] { upload_impl(hidden, out, threads); });
}

ResidentShape resident_shape(const Resident& r) { return r.shape; }

std::string score_resident(const Resident& r, const BoundariesView& bounds, const HeadView& head, double threshold,
                           const ScoreOut& out) {
  return guarded([&] { score_resident_impl(r, bounds, head, threshold, out); });
}

std::string gather_rows_resident(const Resident& r, const BoundariesView& bounds, float* out) {
  return guarded([&] { gather_resident_impl(r, bounds, out); });
}

std::string time_resident_kernel(const Resident& r, const BoundariesView& bounds, const HeadView& head,
                                 double threshold, int iters, double* ms_per_call) {
  return guarded([&] { time_impl(r, bounds, head, threshold, iters, ms_per_call); });
}

std::string measure_copy_bandwidth(size_t bytes, int iters, double* bytes_per_second) {
  return guarded([&] { bandwidth_impl(bytes, iters, bytes_per_second); });
}

MemoryStats memory_stats() {
  MemoryStats m;
  if (probe().devices <= 0) return m;
  const BlockCache::Stats d = device_cache().stats(), h = pinned_cache().stats();
  m.device_cached = d.cached;
  m.device_in_use = d.in_use;
  m.device_mallocs = d.mallocs;
  m.pinned_cached = h.cached;
  m.pinned_in_use = h.in_use;
  m.pinned_mallocs = h.mallocs;
  return m;
}

std::string trim() {
  return guarded([] {
    Context& ctx = context();
    std::lock_guard<std::mutex> lock(ctx.mutex);
    PRM_CUDA_CHECK(cudaSetDevice(ctx.device));
    device_cache().trim();
    pinned_cache().trim();
  });
}

}  // namespace cuda
}  // namespace prm
