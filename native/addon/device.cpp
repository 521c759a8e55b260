// Entry points of the CUDA backend beyond score/gatherRows: device-resident hidden states
// (upload once, score many times), the device firstError / rankGroups kernels, and the
// allocator's statistics. Present in every build; without CUDA each throws the one
// "backend 'cuda' is unavailable" error after its arguments are checked.
#include <napi.h>

#include <string>

#include "../core/validate.h"
#include "args.h"
#include "backend.h"
#include "calls.h"

namespace prm_addon {
namespace {

void throw_if(Napi::Env env, const std::string& err) {
  if (!err.empty()) throw Napi::Error::New(env, err);
}

// The resident copy named by args.handle, after the backend is known to be usable.
ResidentRefPtr read_resident(Napi::Env env, Napi::Value handle_v) {
  const int64_t handle = integer(env, handle_v, "handle", 1, UINT32_MAX);
  check_backend_ready(env, Backend::Cuda);
  ResidentRefPtr r = cuda_resident(static_cast<uint32_t>(handle));
  if (!r) throw Napi::Error::New(env, "prmkit: this DeviceHidden has been freed (handle " + std::to_string(handle) + ")");
  return r;
}

prm::HiddenView resident_view(const ResidentRef& r) {
  const ResidentShape s = cuda_resident_shape(r);
  prm::HiddenView h{};
  h.data = nullptr;  // rows live on the device
  h.dtype = s.dtype;
  h.B = s.B;
  h.T = s.T;
  h.H = s.H;
  return h;
}

// cudaUpload({data, dtype, B, T, H, threads}) -> handle
Napi::Value Upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(info);
  const HiddenProps hp = fetch_hidden(o);
  const Napi::Value threads_v = prop(o, "threads");
  prm::HiddenView h{};
  Owned owned;
  read_hidden(env, hp, h, owned);
  const int threads = static_cast<int>(integer(env, threads_v, "threads", 0, prm::kMaxThreads));
  check_backend_ready(env, Backend::Cuda);
  uint32_t handle = 0;
  throw_if(env, cuda_upload(h, threads, &handle));
  return Napi::Number::New(env, handle);
}

// cudaRelease(handle) -> whether it was live
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t handle = integer(env, info[0], "handle", 0, UINT32_MAX);
  return Napi::Boolean::New(env, cuda_release(static_cast<uint32_t>(handle)));
}

Napi::Value LiveHandles(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), cuda_live_handles());
}

ScoreCall read_resident_score(Napi::Env env, Napi::Object o) {
  const Napi::Value handle = prop(o, "handle");
  const BoundsProps bp = fetch_bounds(o);
  const HeadProps hp = fetch_head(o);
  const OutputProps op = fetch_outputs(o);
  ScoreCall call;
  call.resident = read_resident(env, handle);
  call.hidden = resident_view(*call.resident);
  call.backend = Backend::Cuda;
  read_bounds(env, bp, call.hidden, call.bounds, call.owned);
  read_head(env, hp, call.hidden.H, call.head, call.owned);
  read_score_outputs(env, op, call);
  return call;
}

std::string run_resident_score(const ScoreCall& c) {
  return cuda_score_resident(*c.resident, c.bounds, c.head, c.threshold, c.out);
}

// cudaGatherResidentSync({handle, offsets, positions, out})
Napi::Value GatherResidentSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(info);
  const Napi::Value handle = prop(o, "handle"), outv = prop(o, "out");
  const BoundsProps bp = fetch_bounds(o);
  GatherCall call;
  call.resident = read_resident(env, handle);
  call.hidden = resident_view(*call.resident);
  read_bounds(env, bp, call.hidden, call.bounds, call.owned);
  const ArrayArg out = typed_array(env, outv, napi_float32_array, "out", "Float32Array");
  if (out.length != call.bounds.S * call.hidden.H) throw Napi::RangeError::New(env, "out must have length S * H");
  throw_if(env, cuda_gather_resident(*call.resident, call.bounds, static_cast<float*>(out.data)));
  return env.Undefined();
}

// cudaFirstError({stepLogProbs, offsets, threshold, out})
Napi::Value FirstError(const Napi::CallbackInfo& info) {
  const FirstErrorCall c = read_first_error(info.Env(), arg_object(info));
  check_backend_ready(info.Env(), Backend::Cuda);
  throw_if(info.Env(), cuda_first_error(c.step_log_probs, c.offsets, c.B, c.threshold, c.out));
  return info.Env().Undefined();
}

// cudaRankGroups({scores, groupOffsets, out})
Napi::Value RankGroups(const Napi::CallbackInfo& info) {
  const RankGroupsCall c = read_rank_groups(info.Env(), arg_object(info));
  check_backend_ready(info.Env(), Backend::Cuda);
  throw_if(info.Env(), cuda_rank_groups(c.scores, c.group_offsets, c.G, c.out));
  return info.Env().Undefined();
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const CudaMemory m = cuda_memory();
  Napi::Object o = Napi::Object::New(env);
  o.Set("deviceCached", m.device_cached);
  o.Set("deviceInUse", m.device_in_use);
  o.Set("pinnedCached", m.pinned_cached);
  o.Set("pinnedInUse", m.pinned_in_use);
  o.Set("deviceMallocs", m.device_mallocs);
  o.Set("pinnedMallocs", m.pinned_mallocs);
  return o;
}

Napi::Value Trim(const Napi::CallbackInfo& info) {
  throw_if(info.Env(), cuda_trim());
  return info.Env().Undefined();
}

}  // namespace

void register_device(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaUpload", Napi::Function::New(env, Upload));
  exports.Set("cudaRelease", Napi::Function::New(env, Release));
  exports.Set("cudaLiveHandles", Napi::Function::New(env, LiveHandles));
  // cudaScoreResident[Sync]({handle, offsets, positions, head, threshold, stepLogProbs, aggregates, firstError})
  Entry<ScoreCall, read_resident_score, run_resident_score>::Register(env, exports, "cudaScoreResident");
  exports.Set("cudaGatherResidentSync", Napi::Function::New(env, GatherResidentSync));
  exports.Set("cudaFirstError", Napi::Function::New(env, FirstError));
  exports.Set("cudaRankGroups", Napi::Function::New(env, RankGroups));
  exports.Set("cudaMemory", Napi::Function::New(env, Memory));
  exports.Set("cudaTrim", Napi::Function::New(env, Trim));
}

}  // namespace prm_addon
