// N-API glue: argument checks, typed-array views and async work. Every heavy call has a
// sync form and a Promise form; the Promise form runs on a libuv worker (which fans out to
// the core's thread pool) and holds a reference to its argument object, so the typed
// arrays it reads and writes stay alive until it settles. Outputs are allocated by the
// caller in JS: nothing here allocates per call beyond the worker itself.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../core/env.h"
#include "../core/prmkit.h"
#include "../core/validate.h"
#include "args.h"
#include "backend.h"
#include "calls.h"

namespace prm_addon {
namespace {

std::string run_score(const ScoreCall& c) {
  return score(c.backend, c.hidden, c.bounds, c.head, c.threshold, c.out, c.threads);
}
std::string run_gather(const GatherCall& c) {
  return gather_rows(c.backend, c.hidden, c.bounds, c.out, c.threads);
}

// Both forms refuse a backend this build or machine cannot run before any work.
ScoreCall read_ready_score(Napi::Env env, Napi::Object o) {
  ScoreCall call = read_score(env, o);
  check_backend_ready(env, call.backend);
  return call;
}
GatherCall read_ready_gather(Napi::Env env, Napi::Object o) {
  GatherCall call = read_gather(env, o);
  check_backend_ready(env, call.backend);
  return call;
}

// The argument object's `threads`, fetched with the others before any array is read.
int read_threads(Napi::Env env, Napi::Value v) {
  return static_cast<int>(integer(env, v, "threads", 0, prm::kMaxThreads));
}

// aggregate({stepLogProbs, offsets, how, out, threads}); `how` is an aggregation name
Napi::Value Aggregate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(info);
  const Napi::Value lpv = prop(o, "stepLogProbs"), offv = prop(o, "offsets"), howv = prop(o, "how"),
                    outv = prop(o, "out"), threadsv = prop(o, "threads");
  // nothing below runs JS
  const ArrayArg lp = typed_array(env, lpv, napi_float32_array, "stepLogProbs", "Float32Array");
  const ArrayArg off = typed_array(env, offv, napi_int32_array, "offsets", "Int32Array");
  const int how = enum_name(env, howv, "how", kAggregationNames);
  const ArrayArg out = typed_array(env, outv, napi_float32_array, "out", "Float32Array");
  const int threads = read_threads(env, threadsv);
  const std::vector<int32_t> offsets = copy_of<int32_t>(off);
  const int64_t n = static_cast<int64_t>(offsets.size());
  const prm::Check c = prm::check_offsets(offsets.data(), n, lp.length, "offsets", "stepLogProbs.length");
  if (!c) throw_check(env, c);
  if (out.length != n - 1) throw Napi::RangeError::New(env, "out must have length B");
  prm::aggregate_cpu(static_cast<const float*>(lp.data), offsets.data(), n - 1, static_cast<prm::Aggregation>(how),
                     static_cast<float*>(out.data), threads);
  return env.Undefined();
}

// firstError({stepLogProbs, offsets, threshold, out, threads})
Napi::Value FirstError(const Napi::CallbackInfo& info) {
  Napi::Object o = arg_object(info);
  const Napi::Value threadsv = prop(o, "threads");
  const FirstErrorCall c = read_first_error(info.Env(), o);
  const int threads = read_threads(info.Env(), threadsv);
  prm::first_error_cpu(c.step_log_probs, c.offsets, c.B, c.threshold, c.out, threads);
  return info.Env().Undefined();
}

// rankGroups({scores, groupOffsets, out, threads})
Napi::Value RankGroups(const Napi::CallbackInfo& info) {
  Napi::Object o = arg_object(info);
  const Napi::Value threadsv = prop(o, "threads");
  const RankGroupsCall c = read_rank_groups(info.Env(), o);
  const int threads = read_threads(info.Env(), threadsv);
  prm::rank_groups_cpu(c.scores, c.group_offsets, c.G, c.out, threads);
  return info.Env().Undefined();
}

// readBytes({data, threads}) -> checksum; the benchmark's bandwidth probe.
Napi::Value ReadBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(info);
  const Napi::Value datav = prop(o, "data"), threadsv = prop(o, "threads");
  const ArrayArg a = typed_array(env, datav, napi_float32_array, "data", "Float32Array");
  const int threads = read_threads(env, threadsv);
  return Napi::Number::New(env, prm::read_bytes_cpu(a.data, static_cast<size_t>(a.length) * 4, threads));
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("simd", prm::simd_name());
  o.Set("pinned", pinning_supported());
  o.Set("threads", prm::pool_threads());
  const CudaStatus cs = cuda_status();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", cs.compiled);
  cuda.Set("devices", cs.devices);
  if (!cs.reason.empty()) cuda.Set("reason", cs.reason);
  if (!cs.device_name.empty()) cuda.Set("deviceName", cs.device_name);
  o.Set("cuda", cuda);
  return o;
}

}  // namespace
}  // namespace prm_addon

namespace prm_addon {
void register_advantages(Napi::Env env, Napi::Object exports);  // advantages.cpp
void register_bce(Napi::Env env, Napi::Object exports);         // bce.cpp
void register_lm_head(Napi::Env env, Napi::Object exports);     // lm_head.cpp
}

static Napi::Object InitPrmkit(Napi::Env env, Napi::Object exports) {
  using namespace prm_addon;
  // A bad PRMKIT_THREADS / PRMKIT_SIMD fails the load with its own message, before the pool
  // or the dispatcher ever reads it.
  if (!prm::env_settings().error.empty()) throw Napi::RangeError::New(env, "prmkit: " + prm::env_settings().error);
  exports.Set("bindingVersion", Napi::Number::New(env, kBindingVersion));
  Entry<ScoreCall, read_ready_score, run_score>::Register(env, exports, "score");
  Entry<GatherCall, read_ready_gather, run_gather>::Register(env, exports, "gatherRows");
  exports.Set("aggregate", Napi::Function::New(env, Aggregate));
  exports.Set("firstError", Napi::Function::New(env, FirstError));
  exports.Set("rankGroups", Napi::Function::New(env, RankGroups));
  exports.Set("readBytes", Napi::Function::New(env, ReadBytes));
  exports.Set("info", Napi::Function::New(env, Info));
  register_device(env, exports);
  register_advantages(env, exports);
  register_bce(env, exports);
  register_lm_head(env, exports);
  return exports;
}

NODE_API_MODULE(prmkit, InitPrmkit)
