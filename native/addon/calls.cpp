// Reading a call's JS argument object into raw views (calls.h), with every check of the
// kernel contract done before any work.
#include "calls.h"

#include <algorithm>

#include "../core/validate.h"
#include "args.h"

namespace prm_addon {

using prm::Dtype;

HiddenProps fetch_hidden(Napi::Object o) {
  HiddenProps p;
  p.data = prop(o, "data");
  p.dtype = prop(o, "dtype");
  p.B = prop(o, "B");
  p.T = prop(o, "T");
  p.H = prop(o, "H");
  return p;
}

BoundsProps fetch_bounds(Napi::Object o) {
  BoundsProps p;
  p.offsets = prop(o, "offsets");
  p.positions = prop(o, "positions");
  return p;
}

HeadProps fetch_head(Napi::Object o) {
  HeadProps p;
  Napi::Value v = prop(o, "head");
  p.is_object = v.IsObject();
  if (!p.is_object) return p;
  Napi::Object head = v.As<Napi::Object>();
  p.kind = prop(head, "kind");
  p.activation = prop(head, "activation");
  p.positive = prop(head, "positive");
  p.outputs = prop(head, "outputs");
  p.weight = prop(head, "weight");
  p.bias = prop(head, "bias");
  p.columns = prop(head, "columns");
  return p;
}

OutputProps fetch_outputs(Napi::Object o) {
  OutputProps p;
  p.threshold = prop(o, "threshold");
  p.step_log_probs = prop(o, "stepLogProbs");
  p.first_error = prop(o, "firstError");
  Napi::Value aggs = prop(o, "aggregates");
  p.aggregates_is_object = aggs.IsObject() && !aggs.IsArray();
  if (p.aggregates_is_object)
    for (int i = 0; i < prm::kNumAggregations; ++i) p.aggregates[i] = prop(aggs.As<Napi::Object>(), kAggregationNames[i]);
  return p;
}

Backend read_backend(Napi::Env env, Napi::Value v) {
  if (v.IsUndefined()) return Backend::Cpu;
  const std::string b = v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
  if (b == "cpu") return Backend::Cpu;
  if (b == "cuda") return Backend::Cuda;
  throw Napi::TypeError::New(env, "backend must be 'cpu' or 'cuda' in the native binding");
}

void read_hidden(Napi::Env env, const HiddenProps& p, prm::HiddenView& h, Owned& owned) {
  h.dtype = static_cast<Dtype>(enum_name(env, p.dtype, "hidden.dtype", kDtypeNames));
  ArrayArg data = h.dtype == Dtype::F32
                      ? typed_array(env, p.data, napi_float32_array, "hidden.data", "Float32Array for dtype float32")
                      : typed_array(env, p.data, napi_uint16_array, "hidden.data", "Uint16Array for a 16-bit dtype");
  h.data = data.data;
  h.B = integer(env, p.B, "hidden.dims[0] (B)", 0, INT32_MAX);
  h.T = integer(env, p.T, "hidden.dims[1] (T)", 0, INT32_MAX);
  h.H = integer(env, p.H, "hidden.dims[2] (H)", 0, INT32_MAX);
  const prm::Check c = prm::check_hidden(h.B, h.T, h.H, data.length);
  if (!c) throw_check(env, c);
  owned.hold(data);
}

void read_bounds(Napi::Env env, const BoundsProps& p, const prm::HiddenView& h, prm::BoundariesView& bd,
                 Owned& owned) {
  const ArrayArg off = typed_array(env, p.offsets, napi_int32_array, "boundaries.offsets", "Int32Array");
  const ArrayArg pos = typed_array(env, p.positions, napi_int32_array, "boundaries.positions", "Int32Array");
  owned.offsets = copy_of<int32_t>(off);
  owned.positions = copy_of<int32_t>(pos);
  bd.offsets = owned.offsets.data();
  bd.positions = owned.positions.data();
  bd.S = static_cast<int64_t>(owned.positions.size());
  const prm::Check c = prm::check_boundaries(bd.offsets, static_cast<int64_t>(owned.offsets.size()), bd.positions,
                                             bd.S, h.B, h.T);
  if (!c) throw_check(env, c);
}

void read_head(Napi::Env env, const HeadProps& p, int64_t H, prm::HeadView& hd, Owned& owned) {
  if (!p.is_object) throw Napi::TypeError::New(env, "head must be an object");
  hd.kind = static_cast<prm::HeadKind>(enum_name(env, p.kind, "head.kind", kHeadKindNames));
  hd.activation = static_cast<prm::Activation>(enum_name(env, p.activation, "head.activation", kActivationNames));
  hd.positive = static_cast<int32_t>(integer(env, p.positive, "head.positive", INT32_MIN, INT32_MAX));
  hd.weight = hd.bias = nullptr;
  hd.columns = nullptr;
  int64_t weight_len = -1, bias_len = -1, columns_len = -1;
  if (hd.kind == prm::HeadKind::Linear) {
    const ArrayArg w = typed_array(env, p.weight, napi_float32_array, "head.weight", "Float32Array");
    const ArrayArg b = typed_array(env, p.bias, napi_float32_array, "head.bias", "Float32Array", true);
    hd.K = static_cast<int32_t>(integer(env, p.outputs, "head.outputs", 1, prm::kMaxLinearOutputs));
    owned.weight = copy_of<float>(w);
    hd.weight = owned.weight.data();
    weight_len = w.length;
    if (!p.bias.IsUndefined() && !p.bias.IsNull()) {
      owned.bias = copy_of<float>(b);
      hd.bias = owned.bias.data();
      bias_len = b.length;
    }
  } else {
    const bool has_columns = !p.columns.IsUndefined() && !p.columns.IsNull();
    const ArrayArg c = typed_array(env, p.columns, napi_int32_array, "head.columns", "Int32Array", true);
    if (has_columns) {
      owned.columns = copy_of<int32_t>(c);
      hd.columns = owned.columns.data();
      columns_len = c.length;
    }
    // an over-long column list is refused by check_head before K is used
    hd.K = static_cast<int32_t>(has_columns ? std::min<int64_t>(c.length, INT32_MAX) : H);
  }
  const prm::Check c = prm::check_head(hd, H, weight_len, bias_len, columns_len);
  if (!c) throw_check(env, c);
}

void read_score_outputs(Napi::Env env, const OutputProps& p, ScoreCall& call) {
  call.threshold = number(env, p.threshold, "errorThreshold");
  const prm::Check t = prm::check_threshold(call.threshold);
  if (!t) throw_check(env, t);
  ArrayArg lp = typed_array(env, p.step_log_probs, napi_float32_array, "stepLogProbs", "Float32Array");
  if (lp.length != call.bounds.S) throw Napi::RangeError::New(env, "stepLogProbs must have length S");
  call.out.step_log_probs = static_cast<float*>(lp.data);
  call.owned.hold(lp);
  ArrayArg fe = typed_array(env, p.first_error, napi_int32_array, "firstError", "Int32Array");
  if (fe.length != call.hidden.B) throw Napi::RangeError::New(env, "firstError must have length B");
  call.out.first_error = static_cast<int32_t*>(fe.data);
  call.owned.hold(fe);
  if (!p.aggregates_is_object)
    throw Napi::TypeError::New(env, "aggregates must be an object of Float32Array by aggregation name (" +
                                        name_list(kAggregationNames) + ")");
  for (int i = 0; i < prm::kNumAggregations; ++i) {
    const std::string name = std::string("aggregates.") + kAggregationNames[i];
    ArrayArg a = typed_array(env, p.aggregates[i], napi_float32_array, name.c_str(), "Float32Array or undefined", true);
    const bool given = !p.aggregates[i].IsUndefined() && !p.aggregates[i].IsNull();
    if (given && a.length != call.hidden.B) throw Napi::RangeError::New(env, name + " must have length B");
    call.out.aggregates[i] = given && call.hidden.B > 0 ? static_cast<float*>(a.data) : nullptr;
    call.owned.hold(a);
  }
}

ScoreCall read_score(Napi::Env env, Napi::Object o) {
  const HiddenProps hp = fetch_hidden(o);
  const BoundsProps bp = fetch_bounds(o);
  const HeadProps headp = fetch_head(o);
  const OutputProps op = fetch_outputs(o);
  const Napi::Value threads = prop(o, "threads"), backend = prop(o, "backend");
  // nothing below runs JS
  ScoreCall call;
  read_hidden(env, hp, call.hidden, call.owned);
  read_bounds(env, bp, call.hidden, call.bounds, call.owned);
  read_head(env, headp, call.hidden.H, call.head, call.owned);
  call.threads = static_cast<int>(integer(env, threads, "threads", 0, prm::kMaxThreads));
  call.backend = read_backend(env, backend);
  read_score_outputs(env, op, call);
  return call;
}

GatherCall read_gather(Napi::Env env, Napi::Object o) {
  const HiddenProps hp = fetch_hidden(o);
  const BoundsProps bp = fetch_bounds(o);
  const Napi::Value threads = prop(o, "threads"), backend = prop(o, "backend"), outv = prop(o, "out");
  GatherCall call;
  read_hidden(env, hp, call.hidden, call.owned);
  read_bounds(env, bp, call.hidden, call.bounds, call.owned);
  call.threads = static_cast<int>(integer(env, threads, "threads", 0, prm::kMaxThreads));
  call.backend = read_backend(env, backend);
  ArrayArg out = typed_array(env, outv, napi_float32_array, "out", "Float32Array");
  if (out.length != call.bounds.S * call.hidden.H) throw Napi::RangeError::New(env, "out must have length S * H");
  call.out = static_cast<float*>(out.data);
  call.owned.hold(out);
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

FirstErrorCall read_first_error(Napi::Env env, Napi::Object o) {
  const Napi::Value lpv = prop(o, "stepLogProbs"), offv = prop(o, "offsets"), thrv = prop(o, "threshold"),
                    outv = prop(o, "out");
  // nothing below runs JS
  const ArrayArg lp = typed_array(env, lpv, napi_float32_array, "stepLogProbs", "Float32Array");
  const ArrayArg off = typed_array(env, offv, napi_int32_array, "offsets", "Int32Array");
  const double thr = number(env, thrv, "threshold");
  const ArrayArg out = typed_array(env, outv, napi_int32_array, "out", "Int32Array");
  prm::Check c = prm::check_threshold(thr);
  if (!c) throw_check(env, c);
  FirstErrorCall call{};
  call.owned.offsets = copy_of<int32_t>(off);
  const int64_t n = static_cast<int64_t>(call.owned.offsets.size());
  c = prm::check_offsets(call.owned.offsets.data(), n, lp.length, "offsets", "stepLogProbs.length");
  if (!c) throw_check(env, c);
  if (out.length != n - 1) throw Napi::RangeError::New(env, "out must have length B");
  call.step_log_probs = static_cast<const float*>(lp.data);
  call.offsets = call.owned.offsets.data();
  call.B = n - 1;
  call.threshold = thr;
  call.out = static_cast<int32_t*>(out.data);
  return call;
}

RankGroupsCall read_rank_groups(Napi::Env env, Napi::Object o) {
  const Napi::Value scv = prop(o, "scores"), offv = prop(o, "groupOffsets"), outv = prop(o, "out");
  const ArrayArg sc = typed_array(env, scv, napi_float32_array, "scores", "Float32Array");
  const ArrayArg off = typed_array(env, offv, napi_int32_array, "groupOffsets", "Int32Array");
  const ArrayArg out = typed_array(env, outv, napi_int32_array, "out", "Int32Array");
  RankGroupsCall call{};
  call.owned.offsets = copy_of<int32_t>(off);
  const int64_t n = static_cast<int64_t>(call.owned.offsets.size());
  const prm::Check c = prm::check_offsets(call.owned.offsets.data(), n, sc.length, "groupOffsets", "scores.length");
  if (!c) throw_check(env, c);
  if (out.length != sc.length) throw Napi::RangeError::New(env, "out must have the length of scores");
  // a sort whose keys change under it can run out of bounds: sort a private copy's keys
  call.scores_copy = copy_of<float>(sc);
  call.scores = call.scores_copy.data();
  call.group_offsets = call.owned.offsets.data();
  call.G = n - 1;
  call.out = static_cast<int32_t*>(out.data);
  return call;
}

}  // namespace prm_addon
