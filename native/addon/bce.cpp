// N-API glue of the BCE kernel (core/bce.h): bceSync(args) -> loss, bce(args) -> Promise<loss>.
//
// The same ownership as the scoring calls (calls.h): every property of the argument object is
// fetched before any array is read; the labels are a private copy, checked and read from the
// copy; the rows, the parameters and the gradient output are held by their backing store
// (pin.h) until the call settles. Parameters are only read, and any value is valid, so a
// caller that rewrites them mid-call changes the numbers, never what memory is touched.
#include <napi.h>

#include <string>
#include <vector>

#include "../core/bce.h"
#include "../core/validate.h"
#include "args.h"
#include "calls.h"
#include "contract.h"

namespace prm_addon {
namespace {

struct BceProps {
  Napi::Value rows, N, H, labels, params, gradient, positive_weight, negative_weight, threads;
  bool head_is_object = false;
  Napi::Value kind, activation, outputs, positive, hidden;
};

BceProps fetch_bce(Napi::Object o) {
  BceProps p;
  p.rows = prop(o, "rows");
  p.N = prop(o, "N");
  p.H = prop(o, "H");
  p.labels = prop(o, "labels");
  p.params = prop(o, "params");
  p.gradient = prop(o, "gradient");
  p.positive_weight = prop(o, "positiveWeight");
  p.negative_weight = prop(o, "negativeWeight");
  p.threads = prop(o, "threads");
  Napi::Value head = prop(o, "head");
  p.head_is_object = head.IsObject();
  if (p.head_is_object) {
    Napi::Object h = head.As<Napi::Object>();
    p.kind = prop(h, "kind");
    p.activation = prop(h, "activation");
    p.outputs = prop(h, "outputs");
    p.positive = prop(h, "positive");
    p.hidden = prop(h, "hidden");
  }
  return p;
}

struct BceCall {
  prm::BceView view{};
  prm::BceHead head{};
  prm::BceWeights weights{};
  const float* params = nullptr;
  float* grad = nullptr;
  int threads = 0;
  std::vector<float> labels;  // the view reads this copy
  Owned owned;                // holds rows, params and the gradient
  mutable double loss = 0.0;

  BceCall() = default;
  BceCall(BceCall&&) = default;
  BceCall& operator=(BceCall&&) = default;
  BceCall(const BceCall&) = delete;
};

BceCall read_bce(Napi::Env env, Napi::Object o) {
  const BceProps p = fetch_bce(o);
  // nothing below runs JS
  if (!p.head_is_object) throw Napi::TypeError::New(env, "head must be an object");
  BceCall c;
  c.head.kind = static_cast<prm::TrainHeadKind>(enum_name(env, p.kind, "head.kind", kTrainHeadKindNames));
  c.head.activation = static_cast<prm::Activation>(enum_name(env, p.activation, "head.activation", kActivationNames));
  c.head.K = static_cast<int32_t>(integer(env, p.outputs, "head.outputs", 1, 2));
  c.head.positive = static_cast<int32_t>(integer(env, p.positive, "head.positive", 0, 1));
  c.head.M = c.head.kind == prm::TrainHeadKind::Mlp ? integer(env, p.hidden, "head.hidden", 0, INT32_MAX) : 0;
  ArrayArg rows = typed_array(env, p.rows, napi_float32_array, "rows.data", "Float32Array");
  const ArrayArg labels = typed_array(env, p.labels, napi_float32_array, "labels", "Float32Array");
  ArrayArg params = typed_array(env, p.params, napi_float32_array, "params", "Float32Array");
  const bool has_grad = !p.gradient.IsUndefined() && !p.gradient.IsNull();
  ArrayArg grad = typed_array(env, p.gradient, napi_float32_array, "gradient", "Float32Array or undefined", true);
  c.view.N = integer(env, p.N, "rows.dims[0] (N)", 0, INT32_MAX);
  c.view.H = integer(env, p.H, "rows.dims[1] (H)", 0, INT32_MAX);
  c.weights.positive = number(env, p.positive_weight, "classWeights.positive");
  c.weights.negative = number(env, p.negative_weight, "classWeights.negative");
  c.threads = static_cast<int>(integer(env, p.threads, "threads", 0, prm::kMaxThreads));
  c.labels = copy_of<float>(labels);
  c.view.rows = static_cast<const float*>(rows.data);
  c.view.labels = c.labels.data();
  const prm::Check check =
      prm::check_bce(c.head, c.view, rows.length, labels.length, params.length, has_grad ? grad.length : -1, c.weights);
  if (!check) throw_check(env, check);
  c.params = static_cast<const float*>(params.data);
  c.grad = has_grad ? static_cast<float*>(grad.data) : nullptr;
  c.owned.hold(rows);
  c.owned.hold(params);
  c.owned.hold(grad);
  return c;
}

std::string run_bce(const BceCall& c) {
  c.loss = prm::bce_cpu(c.view, c.head, c.params, c.weights, c.grad, c.threads);
  return {};
}

Napi::Value loss_of(Napi::Env env, const BceCall& c) { return Napi::Number::New(env, c.loss); }

}  // namespace

void register_bce(Napi::Env env, Napi::Object exports) {
  Entry<BceCall, read_bce, run_bce, loss_of>::Register(env, exports, "bce");
}

}  // namespace prm_addon
