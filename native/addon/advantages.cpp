// N-API glue of the advantages kernel: advantagesSync(args), advantages(args) -> Promise,
// and writeBytes({data, threads}), the write half of the benchmark's roofline.
//
// The same ownership as the scoring calls (calls.h): every property of the argument object
// is fetched before any array is read, the input arrays are private copies (checked and read
// from the copies, so a caller rewriting or transferring them once the Promise form has
// returned changes nothing), and the output is held by its backing store (pin.h) until the
// call settles. The inputs are a few values per step and response; the output, one value per
// policy token, is the large array and is written in place.
#include <napi.h>

#include <string>
#include <vector>

#include "../core/advantages.h"
#include "args.h"
#include "calls.h"
#include "contract.h"

namespace prm_addon {
namespace {

struct AdvantageProps {
  Napi::Value rewards, step_offsets, response_offsets, step_ends, response_tokens, out, mode, std_kind, eps, threads;
};

AdvantageProps fetch_advantages(Napi::Object o) {
  AdvantageProps p;
  p.rewards = prop(o, "stepRewards");
  p.step_offsets = prop(o, "stepOffsets");
  p.response_offsets = prop(o, "responseOffsets");
  p.step_ends = prop(o, "stepEnds");
  p.response_tokens = prop(o, "responseTokens");
  p.out = prop(o, "out");
  p.mode = prop(o, "mode");
  p.std_kind = prop(o, "std");
  p.eps = prop(o, "eps");
  p.threads = prop(o, "threads");
  return p;
}

struct AdvantageCall {
  prm::AdvantageView view{};
  prm::AdvantageOptions options{};
  float* out = nullptr;
  int threads = 0;
  // the view points into these
  std::vector<float> rewards;
  std::vector<int32_t> step_offsets, response_offsets, step_ends, response_tokens;
  Owned owned;  // holds out

  AdvantageCall() = default;
  AdvantageCall(AdvantageCall&&) = default;
  AdvantageCall& operator=(AdvantageCall&&) = default;
  AdvantageCall(const AdvantageCall&) = delete;
};

AdvantageCall read_advantages(Napi::Env env, Napi::Object o) {
  const AdvantageProps p = fetch_advantages(o);
  // nothing below runs JS
  AdvantageCall c;
  const ArrayArg rewards = typed_array(env, p.rewards, napi_float32_array, "stepRewards", "Float32Array");
  const ArrayArg step_off = typed_array(env, p.step_offsets, napi_int32_array, "stepOffsets", "Int32Array");
  const ArrayArg resp_off = typed_array(env, p.response_offsets, napi_int32_array, "responseOffsets", "Int32Array");
  const ArrayArg ends = typed_array(env, p.step_ends, napi_int32_array, "stepEnds", "Int32Array");
  const ArrayArg tokens = typed_array(env, p.response_tokens, napi_int32_array, "responseTokens", "Int32Array");
  ArrayArg out = typed_array(env, p.out, napi_float32_array, "out", "Float32Array");
  c.options.mode = static_cast<prm::AdvantageMode>(enum_name(env, p.mode, "mode", kAdvantageModeNames));
  c.options.std_kind = static_cast<prm::StdKind>(enum_name(env, p.std_kind, "std", kStdKindNames));
  const double eps = number(env, p.eps, "options.eps");
  c.options.eps = static_cast<float>(eps);
  c.threads = static_cast<int>(integer(env, p.threads, "threads", 0, prm::kMaxThreads));
  c.rewards = copy_of<float>(rewards);
  c.step_offsets = copy_of<int32_t>(step_off);
  c.response_offsets = copy_of<int32_t>(resp_off);
  c.step_ends = copy_of<int32_t>(ends);
  c.response_tokens = copy_of<int32_t>(tokens);
  c.view.step_rewards = c.rewards.data();
  c.view.step_offsets = c.step_offsets.data();
  c.view.response_offsets = c.response_offsets.data();
  c.view.step_ends = c.step_ends.data();
  c.view.response_tokens = c.response_tokens.data();
  c.view.S = static_cast<int64_t>(c.rewards.size());
  c.view.R = static_cast<int64_t>(c.step_offsets.size()) - 1;
  c.view.G = static_cast<int64_t>(c.response_offsets.size()) - 1;
  const prm::Check check = prm::check_advantages(
      c.view, static_cast<int64_t>(c.step_offsets.size()), static_cast<int64_t>(c.response_offsets.size()),
      static_cast<int64_t>(c.step_ends.size()), static_cast<int64_t>(c.response_tokens.size()), out.length, eps);
  if (!check) throw_check(env, check);
  c.out = static_cast<float*>(out.data);
  c.owned.hold(out);
  return c;
}

std::string run_advantages(const AdvantageCall& c) {
  prm::advantages_cpu(c.view, c.options, c.out, c.threads);
  return {};
}

// writeBytes({data, threads})
Napi::Value WriteBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = arg_object(info);
  const Napi::Value datav = prop(o, "data"), threadsv = prop(o, "threads");
  const ArrayArg a = typed_array(env, datav, napi_float32_array, "data", "Float32Array");
  const int threads = static_cast<int>(integer(env, threadsv, "threads", 0, prm::kMaxThreads));
  prm::write_bytes_cpu(a.data, static_cast<size_t>(a.length) * 4, threads);
  return env.Undefined();
}

}  // namespace

void register_advantages(Napi::Env env, Napi::Object exports) {
  Entry<AdvantageCall, read_advantages, run_advantages>::Register(env, exports, "advantages");
  exports.Set("writeBytes", Napi::Function::New(env, WriteBytes));
}

}  // namespace prm_addon
