// N-API glue: argument checks, typed-array views and async work. Every heavy call has a
// sync form and a Promise form; the Promise form runs on a libuv worker (which fans out to
// the core's thread pool) and holds a reference to its argument object, so the typed
// arrays it reads and writes stay alive until it settles. Outputs are allocated by the
// caller in JS: nothing here allocates per call beyond the worker itself.
#include <napi.h>

#include <memory>
#include <string>

#include "../core/prmkit.h"
#include "../core/validate.h"
#include "args.h"
#include "backend.h"

namespace prm_addon {
namespace {

using prm::Dtype;

// A call's arguments resolved to raw views (all checks done).
struct ScoreCall {
  prm::HiddenView hidden{};
  prm::BoundariesView bounds{};
  prm::HeadView head{};
  prm::ScoreOut out{};
  float threshold = 0.5f;
  int threads = 0;
  Backend backend = Backend::Cpu;
};

struct GatherCall {
  prm::HiddenView hidden{};
  prm::BoundariesView bounds{};
  float* out = nullptr;
  int threads = 0;
  Backend backend = Backend::Cpu;
};

Backend read_backend(Napi::Env env, Napi::Object o) {
  Napi::Value v = o.Get("backend");
  if (v.IsUndefined()) return Backend::Cpu;
  const std::string b = v.ToString().Utf8Value();
  if (b == "cpu") return Backend::Cpu;
  if (b == "cuda") return Backend::Cuda;
  throw Napi::RangeError::New(env, "backend must be 'cpu' or 'cuda' in the native binding, got '" + b + "'");
}

void read_hidden(Napi::Env env, Napi::Object o, prm::HiddenView& h) {
  const int64_t dt = integer(env, o.Get("dtype"), "hidden.dtype", 0, 2);
  h.dtype = static_cast<Dtype>(dt);
  const ArrayArg data = dt == 0 ? typed_array(env, o.Get("data"), napi_float32_array, "hidden.data",
                                              "Float32Array for dtype float32")
                                : typed_array(env, o.Get("data"), napi_uint16_array, "hidden.data",
                                              "Uint16Array for a 16-bit dtype");
  h.data = data.data;
  h.B = integer(env, o.Get("B"), "hidden.dims[0] (B)", 0, INT32_MAX);
  h.T = integer(env, o.Get("T"), "hidden.dims[1] (T)", 0, INT32_MAX);
  h.H = integer(env, o.Get("H"), "hidden.dims[2] (H)", 0, INT32_MAX);
  const prm::Check c = prm::check_hidden(h.B, h.T, h.H, data.length);
  if (!c) throw_check(env, c);
}

void read_bounds(Napi::Env env, Napi::Object o, const prm::HiddenView& h, prm::BoundariesView& bd) {
  const ArrayArg off = typed_array(env, o.Get("offsets"), napi_int32_array, "boundaries.offsets", "Int32Array");
  const ArrayArg pos = typed_array(env, o.Get("positions"), napi_int32_array, "boundaries.positions", "Int32Array");
  bd.offsets = static_cast<const int32_t*>(off.data);
  bd.positions = static_cast<const int32_t*>(pos.data);
  bd.S = pos.length;
  const prm::Check c = prm::check_boundaries(bd.offsets, off.length, bd.positions, bd.S, h.B, h.T);
  if (!c) throw_check(env, c);
}

void read_head(Napi::Env env, Napi::Object o, int64_t H, prm::HeadView& hd) {
  if (!o.Get("head").IsObject()) throw Napi::TypeError::New(env, "head must be an object");
  Napi::Object head = o.Get("head").As<Napi::Object>();
  hd.kind = static_cast<prm::HeadKind>(integer(env, head.Get("kind"), "head.kind", 0, 1));
  hd.activation = static_cast<prm::Activation>(integer(env, head.Get("activation"), "head.activation", 0, 1));
  hd.positive = static_cast<int32_t>(integer(env, head.Get("positive"), "head.positive", INT32_MIN, INT32_MAX));
  int64_t weight_len = -1, bias_len = -1, columns_len = -1;
  if (hd.kind == prm::HeadKind::Linear) {
    const ArrayArg w = typed_array(env, head.Get("weight"), napi_float32_array, "head.weight", "Float32Array");
    const ArrayArg b = typed_array(env, head.Get("bias"), napi_float32_array, "head.bias", "Float32Array", true);
    hd.weight = static_cast<const float*>(w.data);
    hd.bias = static_cast<const float*>(b.data);
    weight_len = w.length;
    bias_len = b.data ? b.length : -1;
    hd.K = static_cast<int32_t>(integer(env, head.Get("outputs"), "head.outputs", 1, prm::kMaxLinearOutputs));
  } else {
    const ArrayArg c = typed_array(env, head.Get("columns"), napi_int32_array, "head.columns", "Int32Array", true);
    hd.columns = static_cast<const int32_t*>(c.data);
    columns_len = c.data ? c.length : -1;
    hd.K = static_cast<int32_t>(c.data ? c.length : H);
  }
  const prm::Check c = prm::check_head(hd, H, weight_len, bias_len, columns_len);
  if (!c) throw_check(env, c);
}

ScoreCall read_score(Napi::Env env, Napi::Object o) {
  ScoreCall call;
  read_hidden(env, o, call.hidden);
  read_bounds(env, o, call.hidden, call.bounds);
  read_head(env, o, call.hidden.H, call.head);
  call.threshold = static_cast<float>(number(env, o.Get("threshold"), "errorThreshold"));
  const prm::Check t = prm::check_threshold(call.threshold);
  if (!t) throw_check(env, t);
  call.threads = static_cast<int>(integer(env, o.Get("threads"), "threads", 0, 1024));
  call.backend = read_backend(env, o);

  const ArrayArg lp = typed_array(env, o.Get("stepLogProbs"), napi_float32_array, "stepLogProbs", "Float32Array");
  if (lp.length != call.bounds.S) throw Napi::RangeError::New(env, "stepLogProbs must have length S");
  call.out.step_log_probs = static_cast<float*>(lp.data);
  const ArrayArg fe = typed_array(env, o.Get("firstError"), napi_int32_array, "firstError", "Int32Array");
  if (fe.length != call.hidden.B) throw Napi::RangeError::New(env, "firstError must have length B");
  call.out.first_error = static_cast<int32_t*>(fe.data);
  Napi::Value aggs = o.Get("aggregates");
  if (!aggs.IsArray() || aggs.As<Napi::Array>().Length() != prm::kNumAggregations)
    throw Napi::TypeError::New(env, "aggregates must be an array of 5 (Float32Array | null)");
  for (uint32_t i = 0; i < prm::kNumAggregations; ++i) {
    const ArrayArg a = typed_array(env, aggs.As<Napi::Array>().Get(i), napi_float32_array, "aggregates[i]",
                                   "Float32Array or null", true);
    if (a.data && a.length != call.hidden.B) throw Napi::RangeError::New(env, "aggregates[i] must have length B");
    call.out.aggregates[i] = static_cast<float*>(a.data);
  }
  return call;
}

GatherCall read_gather(Napi::Env env, Napi::Object o) {
  GatherCall call;
  read_hidden(env, o, call.hidden);
  read_bounds(env, o, call.hidden, call.bounds);
  call.threads = static_cast<int>(integer(env, o.Get("threads"), "threads", 0, 1024));
  call.backend = read_backend(env, o);
  const ArrayArg out = typed_array(env, o.Get("out"), napi_float32_array, "out", "Float32Array");
  if (out.length != call.bounds.S * call.hidden.H) throw Napi::RangeError::New(env, "out must have length S * H");
  call.out = static_cast<float*>(out.data);
  return call;
}

Napi::Object arg_object(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "expected an argument object");
  return info[0].As<Napi::Object>();
}

// Runs `Call` off the event loop; rejects with the backend's error message if it fails.
template <class Call, std::string (*Run)(const Call&)>
class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, Napi::Object args, Call call)
      : Napi::AsyncWorker(env, "prmkit"), deferred_(Napi::Promise::Deferred::New(env)), call_(call) {
    args_ = Napi::Persistent(args);  // keeps every typed array in `args` alive
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    const std::string err = Run(call_);
    if (!err.empty()) SetError(err);
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference args_;
  Call call_;
};

std::string run_score(const ScoreCall& c) {
  return score(c.backend, c.hidden, c.bounds, c.head, c.threshold, c.out, c.threads);
}
std::string run_gather(const GatherCall& c) {
  return gather_rows(c.backend, c.hidden, c.bounds, c.out, c.threads);
}

void check_backend_ready(Napi::Env env, Backend b) {
  const std::string why = backend_unavailable(b);
  if (!why.empty()) throw Napi::Error::New(env, why);
}

Napi::Value ScoreSync(const Napi::CallbackInfo& info) {
  const ScoreCall call = read_score(info.Env(), arg_object(info));
  check_backend_ready(info.Env(), call.backend);
  const std::string err = run_score(call);
  if (!err.empty()) throw Napi::Error::New(info.Env(), err);
  return info.Env().Undefined();
}

Napi::Value ScoreAsync(const Napi::CallbackInfo& info) {
  Napi::Object args = arg_object(info);
  const ScoreCall call = read_score(info.Env(), args);
  check_backend_ready(info.Env(), call.backend);
  auto* w = new Worker<ScoreCall, run_score>(info.Env(), args, call);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value GatherSync(const Napi::CallbackInfo& info) {
  const GatherCall call = read_gather(info.Env(), arg_object(info));
  check_backend_ready(info.Env(), call.backend);
  const std::string err = run_gather(call);
  if (!err.empty()) throw Napi::Error::New(info.Env(), err);
  return info.Env().Undefined();
}

Napi::Value GatherAsync(const Napi::CallbackInfo& info) {
  Napi::Object args = arg_object(info);
  const GatherCall call = read_gather(info.Env(), args);
  check_backend_ready(info.Env(), call.backend);
  auto* w = new Worker<GatherCall, run_gather>(info.Env(), args, call);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// aggregate(stepLogProbs, offsets, how, out, threads)
Napi::Value Aggregate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ArrayArg lp = typed_array(env, info[0], napi_float32_array, "stepLogProbs", "Float32Array");
  const ArrayArg off = typed_array(env, info[1], napi_int32_array, "offsets", "Int32Array");
  const int64_t how = integer(env, info[2], "how", 0, prm::kNumAggregations - 1);
  const ArrayArg out = typed_array(env, info[3], napi_float32_array, "out", "Float32Array");
  const int threads = static_cast<int>(integer(env, info[4], "threads", 0, 1024));
  const prm::Check c = prm::check_offsets(static_cast<const int32_t*>(off.data), off.length, lp.length, "offsets",
                                          "stepLogProbs.length");
  if (!c) throw_check(env, c);
  if (out.length != off.length - 1) throw Napi::RangeError::New(env, "out must have length B");
  prm::aggregate_cpu(static_cast<const float*>(lp.data), static_cast<const int32_t*>(off.data), off.length - 1,
                     static_cast<prm::Aggregation>(how), static_cast<float*>(out.data), threads);
  return env.Undefined();
}

// firstError(stepLogProbs, offsets, threshold, out, threads)
Napi::Value FirstError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ArrayArg lp = typed_array(env, info[0], napi_float32_array, "stepLogProbs", "Float32Array");
  const ArrayArg off = typed_array(env, info[1], napi_int32_array, "offsets", "Int32Array");
  const double thr = number(env, info[2], "threshold");
  const ArrayArg out = typed_array(env, info[3], napi_int32_array, "out", "Int32Array");
  const int threads = static_cast<int>(integer(env, info[4], "threads", 0, 1024));
  prm::Check c = prm::check_threshold(thr);
  if (!c) throw_check(env, c);
  c = prm::check_offsets(static_cast<const int32_t*>(off.data), off.length, lp.length, "offsets",
                         "stepLogProbs.length");
  if (!c) throw_check(env, c);
  if (out.length != off.length - 1) throw Napi::RangeError::New(env, "out must have length B");
  prm::first_error_cpu(static_cast<const float*>(lp.data), static_cast<const int32_t*>(off.data), off.length - 1,
                       static_cast<float>(thr), static_cast<int32_t*>(out.data), threads);
  return env.Undefined();
}

// rankGroups(scores, groupOffsets, out, threads)
Napi::Value RankGroups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ArrayArg sc = typed_array(env, info[0], napi_float32_array, "scores", "Float32Array");
  const ArrayArg off = typed_array(env, info[1], napi_int32_array, "groupOffsets", "Int32Array");
  const ArrayArg out = typed_array(env, info[2], napi_int32_array, "out", "Int32Array");
  const int threads = static_cast<int>(integer(env, info[3], "threads", 0, 1024));
  const prm::Check c = prm::check_offsets(static_cast<const int32_t*>(off.data), off.length, sc.length,
                                          "groupOffsets", "scores.length");
  if (!c) throw_check(env, c);
  if (out.length != sc.length) throw Napi::RangeError::New(env, "out must have the length of scores");
  prm::rank_groups_cpu(static_cast<const float*>(sc.data), static_cast<const int32_t*>(off.data), off.length - 1,
                       static_cast<int32_t*>(out.data), threads);
  return env.Undefined();
}

// readBytes(typedArray, threads) -> checksum; the benchmark's bandwidth probe.
Napi::Value ReadBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ArrayArg a = typed_array(env, info[0], napi_float32_array, "data", "Float32Array");
  const int threads = static_cast<int>(integer(env, info[1], "threads", 0, 1024));
  return Napi::Number::New(env, prm::read_bytes_cpu(a.data, static_cast<size_t>(a.length) * 4, threads));
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("simd", prm::simd_name());
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

static Napi::Object InitPrmkit(Napi::Env env, Napi::Object exports) {
  using namespace prm_addon;
  exports.Set("scoreSync", Napi::Function::New(env, ScoreSync));
  exports.Set("score", Napi::Function::New(env, ScoreAsync));
  exports.Set("gatherRowsSync", Napi::Function::New(env, GatherSync));
  exports.Set("gatherRows", Napi::Function::New(env, GatherAsync));
  exports.Set("aggregate", Napi::Function::New(env, Aggregate));
  exports.Set("firstError", Napi::Function::New(env, FirstError));
  exports.Set("rankGroups", Napi::Function::New(env, RankGroups));
  exports.Set("readBytes", Napi::Function::New(env, ReadBytes));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

NODE_API_MODULE(prmkit, InitPrmkit)
