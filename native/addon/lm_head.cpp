// N-API glue of the LM-head log-probability kernel (core/lm_head.h):
//   tokenLogProbsSync(args), tokenLogProbs(args) -> Promise, lmHeadInfo() -> { simd }
// args = { data, dtype, B, T, H, rows, targets, weight, weightDtype, V, out, threads }.
//
// The same ownership as the scoring calls (calls.h): every property is fetched before any
// array is read; rows and targets (one entry per token read) are private copies, checked and
// read from the copies; hidden.data, the head's weight and out (the large arrays) are held by
// their backing stores until the call settles.
#include <napi.h>

#include <string>
#include <vector>

#include "../core/lm_head.h"
#include "args.h"
#include "calls.h"
#include "contract.h"

namespace prm_addon {
namespace {

struct LmHeadProps {
  HiddenProps hidden;
  Napi::Value rows, targets, weight, weight_dtype, V, out, threads;
};

struct LmHeadCall {
  prm::HiddenView hidden{};
  prm::LmHeadView head{};
  std::vector<int32_t> rows, targets;
  float* out = nullptr;
  int threads = 0;
  Owned owned;  // holds hidden.data, the weight and out

  LmHeadCall() = default;
  LmHeadCall(LmHeadCall&&) = default;
  LmHeadCall& operator=(LmHeadCall&&) = default;
  LmHeadCall(const LmHeadCall&) = delete;
};

LmHeadCall read_lm_head(Napi::Env env, Napi::Object o) {
  LmHeadProps p;
  p.hidden = fetch_hidden(o);
  p.rows = prop(o, "rows");
  p.targets = prop(o, "targets");
  p.weight = prop(o, "weight");
  p.weight_dtype = prop(o, "weightDtype");
  p.V = prop(o, "V");
  p.out = prop(o, "out");
  p.threads = prop(o, "threads");
  // nothing below runs JS
  LmHeadCall c;
  read_hidden(env, p.hidden, c.hidden, c.owned);
  const ArrayArg rows = typed_array(env, p.rows, napi_int32_array, "rows", "Int32Array");
  const ArrayArg targets = typed_array(env, p.targets, napi_int32_array, "targets", "Int32Array");
  c.head.dtype = static_cast<prm::Dtype>(enum_name(env, p.weight_dtype, "head.dtype", kDtypeNames));
  ArrayArg weight = c.head.dtype == prm::Dtype::F32
                        ? typed_array(env, p.weight, napi_float32_array, "head.weight", "Float32Array for dtype float32")
                        : typed_array(env, p.weight, napi_uint16_array, "head.weight", "Uint16Array for a 16-bit dtype");
  c.head.V = integer(env, p.V, "head.vocab", 1, INT32_MAX);
  c.head.H = c.hidden.H;
  c.head.weight = weight.data;
  ArrayArg out = typed_array(env, p.out, napi_float32_array, "out", "Float32Array");
  c.threads = static_cast<int>(integer(env, p.threads, "threads", 0, prm::kMaxThreads));
  c.rows = copy_of<int32_t>(rows);
  c.targets = copy_of<int32_t>(targets);
  const prm::Check check = prm::check_token_log_probs(c.hidden, c.head, weight.length, c.rows.data(),
                                                      static_cast<int64_t>(c.rows.size()), c.targets.data(),
                                                      static_cast<int64_t>(c.targets.size()), out.length);
  if (!check) throw_check(env, check);
  c.out = static_cast<float*>(out.data);
  c.owned.hold(weight);
  c.owned.hold(out);
  return c;
}

std::string run_lm_head(const LmHeadCall& c) {
  prm::token_log_probs_cpu(c.hidden, c.rows.data(), c.targets.data(), static_cast<int64_t>(c.rows.size()), c.head,
                           c.out, c.threads);
  return {};
}

Napi::Value LmHeadInfo(const Napi::CallbackInfo& info) {
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("simd", prm::lm_head_kernels().name);
  return o;
}

}  // namespace

void register_lm_head(Napi::Env env, Napi::Object exports) {
  Entry<LmHeadCall, read_lm_head, run_lm_head>::Register(env, exports, "tokenLogProbs");
  exports.Set("lmHeadInfo", Napi::Function::New(env, LmHeadInfo));
}

}  // namespace prm_addon
