// Reading a call's JS argument object into raw views (calls.h), with every check of the
// kernel contract done before any work.
#include "calls.h"

#include "../core/validate.h"
#include "args.h"

namespace prm_addon {

using prm::Dtype;

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

void read_score_outputs(Napi::Env env, Napi::Object o, ScoreCall& call) {
  call.threshold = static_cast<float>(number(env, o.Get("threshold"), "errorThreshold"));
  const prm::Check t = prm::check_threshold(call.threshold);
  if (!t) throw_check(env, t);
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
}

ScoreCall read_score(Napi::Env env, Napi::Object o) {
  ScoreCall call;
  read_hidden(env, o, call.hidden);
  read_bounds(env, o, call.hidden, call.bounds);
  read_head(env, o, call.hidden.H, call.head);
  call.threads = static_cast<int>(integer(env, o.Get("threads"), "threads", 0, 1024));
  call.backend = read_backend(env, o);
  read_score_outputs(env, o, call);
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

void check_backend_ready(Napi::Env env, Backend b) {
  const std::string why = backend_unavailable(b);
  if (!why.empty()) throw Napi::Error::New(env, why);
}

FirstErrorCall read_first_error(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ArrayArg lp = typed_array(env, info[0], napi_float32_array, "stepLogProbs", "Float32Array");
  const ArrayArg off = typed_array(env, info[1], napi_int32_array, "offsets", "Int32Array");
  const double thr = number(env, info[2], "threshold");
  const ArrayArg out = typed_array(env, info[3], napi_int32_array, "out", "Int32Array");
  prm::Check c = prm::check_threshold(thr);
  if (!c) throw_check(env, c);
  c = prm::check_offsets(static_cast<const int32_t*>(off.data), off.length, lp.length, "offsets",
                         "stepLogProbs.length");
  if (!c) throw_check(env, c);
  if (out.length != off.length - 1) throw Napi::RangeError::New(env, "out must have length B");
  return {static_cast<const float*>(lp.data), static_cast<const int32_t*>(off.data), off.length - 1,
          static_cast<float>(thr), static_cast<int32_t*>(out.data)};
}

RankGroupsCall read_rank_groups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ArrayArg sc = typed_array(env, info[0], napi_float32_array, "scores", "Float32Array");
  const ArrayArg off = typed_array(env, info[1], napi_int32_array, "groupOffsets", "Int32Array");
  const ArrayArg out = typed_array(env, info[2], napi_int32_array, "out", "Int32Array");
  const prm::Check c = prm::check_offsets(static_cast<const int32_t*>(off.data), off.length, sc.length,
                                          "groupOffsets", "scores.length");
  if (!c) throw_check(env, c);
  if (out.length != sc.length) throw Napi::RangeError::New(env, "out must have the length of scores");
  return {static_cast<const float*>(sc.data), static_cast<const int32_t*>(off.data), off.length - 1,
          static_cast<int32_t*>(out.data)};
}

}  // namespace prm_addon
