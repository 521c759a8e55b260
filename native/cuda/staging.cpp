#include "staging.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace prm {
namespace cuda {

void upload_args(DeviceArgs& a, const BoundariesView& bounds, int64_t B, const HeadView& head, int64_t H,
                 bool with_positions, bool with_head_columns, cudaStream_t stream) {
  const int64_t S = bounds.S;
  const bool linear = head.kind == HeadKind::Linear;
  Layout l;
  const size_t off_at = l.add(sizeof(int32_t) * (B + 1));
  const size_t cand_at = l.add(sizeof(int32_t) * S);
  const size_t pos_at = with_positions ? l.add(sizeof(int32_t) * S) : 0;
  const size_t w_at = linear ? l.add(sizeof(float) * head.K * H) : 0;
  const size_t b_at = linear && head.bias ? l.add(sizeof(float) * head.K) : 0;
  const size_t c_at = with_head_columns && head.columns ? l.add(sizeof(int32_t) * head.K) : 0;
  a.host = Block(pinned_cache(), l.size());
  a.dev = Block(device_cache(), l.size());

  std::memcpy(a.host.as(off_at), bounds.offsets, sizeof(int32_t) * (B + 1));
  int32_t* cand = a.host.as<int32_t>(cand_at);
  for (int64_t b = 0; b < B; ++b)
    for (int32_t s = bounds.offsets[b]; s < bounds.offsets[b + 1]; ++s) cand[s] = static_cast<int32_t>(b);
  if (with_positions) std::memcpy(a.host.as(pos_at), bounds.positions, sizeof(int32_t) * S);
  if (linear) std::memcpy(a.host.as(w_at), head.weight, sizeof(float) * head.K * H);
  if (linear && head.bias) std::memcpy(a.host.as(b_at), head.bias, sizeof(float) * head.K);
  if (with_head_columns && head.columns) std::memcpy(a.host.as(c_at), head.columns, sizeof(int32_t) * head.K);
  PRM_CUDA_CHECK(cudaMemcpyAsync(a.dev.as(), a.host.as(), l.size(), cudaMemcpyHostToDevice, stream));

  a.offsets = a.dev.as<int32_t>(off_at);
  a.candidate = a.dev.as<int32_t>(cand_at);
  a.host_candidate = cand;
  a.positions = with_positions ? a.dev.as<int32_t>(pos_at) : nullptr;
  a.weight = linear ? a.dev.as<float>(w_at) : nullptr;
  a.bias = linear && head.bias ? a.dev.as<float>(b_at) : nullptr;
  a.columns = with_head_columns && head.columns ? a.dev.as<int32_t>(c_at) : nullptr;
}

void DeviceOutputs::allocate(int64_t s, int64_t b) {
  S = s;
  B = b;
  // packed without gaps: every byte copied back was written by the kernel
  lp_at = 0;
  agg_at = sizeof(float) * S;
  fe_at = agg_at + sizeof(float) * kNumAggregations * B;
  const size_t bytes = std::max<size_t>(fe_at + sizeof(int32_t) * B, 256);
  host = Block(pinned_cache(), bytes);
  dev = Block(device_cache(), bytes);
}

void DeviceOutputs::fill(ScoreParams& p) const {
  p.step_log_probs = dev.as<float>(lp_at);
  p.aggregates = dev.as<float>(agg_at);
  p.first_error = dev.as<int32_t>(fe_at);
}

void DeviceOutputs::copy_back(cudaStream_t stream) const {
  if (S == 0 && B == 0) return;
  PRM_CUDA_CHECK(cudaMemcpyAsync(host.as(), dev.as(), fe_at + sizeof(int32_t) * B, cudaMemcpyDeviceToHost, stream));
}

void DeviceOutputs::scatter(const ScoreOut& out) const {
  if (out.step_log_probs && S) std::memcpy(out.step_log_probs, host.as(lp_at), sizeof(float) * S);
  for (int a = 0; a < kNumAggregations; ++a)
    if (out.aggregates[a] && B) std::memcpy(out.aggregates[a], host.as<float>(agg_at) + a * B, sizeof(float) * B);
  if (out.first_error && B) std::memcpy(out.first_error, host.as(fe_at), sizeof(int32_t) * B);
}

ScoreParams base_params(const DeviceArgs& a, const DeviceOutputs& o, const HeadView& head, int64_t B,
                        double threshold, uint32_t* counters) {
  ScoreParams p{};
  p.offsets = a.offsets;
  p.candidate = a.candidate;
  p.positions = a.positions;
  p.B = B;
  p.kind = head.kind;
  p.activation = head.activation;
  p.positive = head.positive;
  p.K = head.K;
  p.weight = a.weight;
  p.bias = a.bias;
  p.columns = a.columns;
  p.log_threshold = std::log(static_cast<double>(threshold));
  p.done = counters;
  o.fill(p);
  return p;
}

}  // namespace cuda
}  // namespace prm
