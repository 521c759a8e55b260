// N-API glue of the advantages kernel: advantagesSync(args), advantages(args) -> Promise,
// and writeBytes(Float32Array, threads), the write half of the benchmark's roofline. The
// argument object is checked completely before any work; the Promise form holds it (and so
// every typed array it names) until it settles.
#include <napi.h>

#include <string>

#include "../core/advantages.h"
#include "args.h"
#include "calls.h"

namespace prm_addon {
namespace {

struct AdvantageCall {
  prm::AdvantageView view{};
  prm::AdvantageOptions options{};
  float* out = nullptr;
  int threads = 0;
};

AdvantageCall read_advantages(Napi::Env env, Napi::Object o) {
  AdvantageCall c;
  const ArrayArg rewards = typed_array(env, o.Get("stepRewards"), napi_float32_array, "stepRewards", "Float32Array");
  const ArrayArg step_off = typed_array(env, o.Get("stepOffsets"), napi_int32_array, "stepOffsets", "Int32Array");
  const ArrayArg resp_off =
      typed_array(env, o.Get("responseOffsets"), napi_int32_array, "responseOffsets", "Int32Array");
  const ArrayArg ends = typed_array(env, o.Get("stepEnds"), napi_int32_array, "stepEnds", "Int32Array");
  const ArrayArg tokens = typed_array(env, o.Get("responseTokens"), napi_int32_array, "responseTokens", "Int32Array");
  const ArrayArg out = typed_array(env, o.Get("out"), napi_float32_array, "out", "Float32Array");
  c.options.mode = static_cast<prm::AdvantageMode>(integer(env, o.Get("mode"), "mode", 0, 1));
  c.options.std_kind = static_cast<prm::StdKind>(integer(env, o.Get("std"), "std", 0, 1));
  const double eps = number(env, o.Get("eps"), "options.eps");
  c.options.eps = static_cast<float>(eps);
  c.threads = static_cast<int>(integer(env, o.Get("threads"), "threads", 0, 1024));
  c.view.step_rewards = static_cast<const float*>(rewards.data);
  c.view.step_offsets = static_cast<const int32_t*>(step_off.data);
  c.view.response_offsets = static_cast<const int32_t*>(resp_off.data);
  c.view.step_ends = static_cast<const int32_t*>(ends.data);
  c.view.response_tokens = static_cast<const int32_t*>(tokens.data);
  c.view.S = rewards.length;
  c.view.R = step_off.length - 1;
  c.view.G = resp_off.length - 1;
  const prm::Check check = prm::check_advantages(c.view, step_off.length, resp_off.length, ends.length,
                                                 tokens.length, out.length, eps);
  if (!check) throw_check(env, check);
  c.out = static_cast<float*>(out.data);
  return c;
}

std::string run_advantages(const AdvantageCall& c) {
  prm::advantages_cpu(c.view, c.options, c.out, c.threads);
  return {};
}

Napi::Value AdvantagesSync(const Napi::CallbackInfo& info) {
  run_advantages(read_advantages(info.Env(), arg_object(info)));
  return info.Env().Undefined();
}

Napi::Value AdvantagesAsync(const Napi::CallbackInfo& info) {
  Napi::Object args = arg_object(info);
  const AdvantageCall call = read_advantages(info.Env(), args);
  return queue<AdvantageCall, run_advantages>(info.Env(), args, call);
}

Napi::Value WriteBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ArrayArg a = typed_array(env, info[0], napi_float32_array, "data", "Float32Array");
  const int threads = static_cast<int>(integer(env, info[1], "threads", 0, 1024));
  prm::write_bytes_cpu(a.data, static_cast<size_t>(a.length) * 4, threads);
  return env.Undefined();
}

}  // namespace

void register_advantages(Napi::Env env, Napi::Object exports) {
  exports.Set("advantagesSync", Napi::Function::New(env, AdvantagesSync));
  exports.Set("advantages", Napi::Function::New(env, AdvantagesAsync));
  exports.Set("writeBytes", Napi::Function::New(env, WriteBytes));
}

}  // namespace prm_addon
