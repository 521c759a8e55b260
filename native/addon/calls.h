// A call's arguments read out of its JS argument object into raw views, with every check
// of the kernel contract done first; and the AsyncWorker that runs a call off the event loop.
//
// What a call reads it owns for the whole call: the small arrays (offsets, positions, head
// weights and columns) are copied and checked from the copies; the large ones (hidden.data,
// the outputs) are held by their backing store (pin.h). Every property is fetched from the
// argument object before any array is read, so no getter runs after a pointer is taken.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../core/prmkit.h"
#include "args.h"
#include "backend.h"

namespace prm_addon {

// The memory a call reads and writes, owned or held until the call object is destroyed. The
// views of a call point into it, so calls move but never copy.
struct Owned {
  std::vector<int32_t> offsets, positions, columns;
  std::vector<float> weight, bias;
  std::vector<std::shared_ptr<void>> held;
  void hold(ArrayArg& a) {
    if (a.keep) held.push_back(std::move(a.keep));
  }
};

struct ScoreCall {
  prm::HiddenView hidden{};
  prm::BoundariesView bounds{};
  prm::HeadView head{};
  prm::ScoreOut out{};
  double threshold = 0.5;
  int threads = 0;
  Backend backend = Backend::Cpu;
  ResidentRefPtr resident;  // set for calls on a device-resident copy
  Owned owned;

  ScoreCall() = default;
  ScoreCall(ScoreCall&&) = default;
  ScoreCall& operator=(ScoreCall&&) = default;
  ScoreCall(const ScoreCall&) = delete;
};

struct GatherCall {
  prm::HiddenView hidden{};
  prm::BoundariesView bounds{};
  float* out = nullptr;
  int threads = 0;
  Backend backend = Backend::Cpu;
  ResidentRefPtr resident;
  Owned owned;

  GatherCall() = default;
  GatherCall(GatherCall&&) = default;
  GatherCall& operator=(GatherCall&&) = default;
  GatherCall(const GatherCall&) = delete;
};

// firstError({stepLogProbs, offsets, threshold, out, ...}) and rankGroups({scores,
// groupOffsets, out, ...}), shared by the cpu and cuda entry points. Offsets (and the scores a sort
// compares) are private copies: a shared buffer written by another thread cannot send the
// reductions out of bounds.
struct FirstErrorCall {
  const float* step_log_probs;
  const int32_t* offsets;
  int64_t B;
  double threshold;
  int32_t* out;
  Owned owned;
};
struct RankGroupsCall {
  const float* scores;
  const int32_t* group_offsets;
  int64_t G;
  int32_t* out;
  Owned owned;
  std::vector<float> scores_copy;
};
FirstErrorCall read_first_error(Napi::Env env, Napi::Object o);
RankGroupsCall read_rank_groups(Napi::Env env, Napi::Object o);

// The properties of each part of an argument object, fetched (getters run) before any is read.
struct HiddenProps {
  Napi::Value data, dtype, B, T, H;
};
struct BoundsProps {
  Napi::Value offsets, positions;
};
struct HeadProps {
  bool is_object = false;
  Napi::Value kind, activation, positive, outputs, weight, bias, columns;
};
struct OutputProps {
  Napi::Value threshold, step_log_probs, first_error;
  bool aggregates_is_object = false;
  Napi::Value aggregates[prm::kNumAggregations];
};
HiddenProps fetch_hidden(Napi::Object o);
BoundsProps fetch_bounds(Napi::Object o);
HeadProps fetch_head(Napi::Object o);
OutputProps fetch_outputs(Napi::Object o);

Napi::Object arg_object(const Napi::CallbackInfo& info);
Backend read_backend(Napi::Env env, Napi::Value v);
void read_hidden(Napi::Env env, const HiddenProps& p, prm::HiddenView& h, Owned& owned);
void read_bounds(Napi::Env env, const BoundsProps& p, const prm::HiddenView& h, prm::BoundariesView& bd, Owned& owned);
void read_head(Napi::Env env, const HeadProps& p, int64_t H, prm::HeadView& hd, Owned& owned);
// threshold and the caller-allocated outputs (stepLogProbs, aggregates, firstError)
void read_score_outputs(Napi::Env env, const OutputProps& p, ScoreCall& call);
ScoreCall read_score(Napi::Env env, Napi::Object o);
GatherCall read_gather(Napi::Env env, Napi::Object o);
void check_backend_ready(Napi::Env env, Backend b);

// What a settled call resolves to: undefined, or a value the call computed (Result).
template <class Call>
using ResultFn = Napi::Value (*)(Napi::Env, const Call&);

template <class Call>
Napi::Value resolve_value(Napi::Env env, const Call& call, ResultFn<Call> result) {
  return result ? result(env, call) : env.Undefined();
}

// Runs `Call` off the event loop; rejects with the backend's error message if it fails.
template <class Call, std::string (*Run)(const Call&), ResultFn<Call> Result = nullptr>
class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, Napi::Object args, Call call)
      : Napi::AsyncWorker(env, "prmkit"), deferred_(Napi::Promise::Deferred::New(env)), call_(std::move(call)) {
    args_ = Napi::Persistent(args);  // keeps the argument objects themselves alive too
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    const std::string err = Run(call_);
    if (!err.empty()) SetError(err);
  }
  void OnOK() override { deferred_.Resolve(resolve_value(Env(), call_, Result)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference args_;
  Call call_;
};

template <class Call, std::string (*Run)(const Call&), ResultFn<Call> Result = nullptr>
Napi::Promise queue(Napi::Env env, Napi::Object args, Call call) {
  if (!pinning_supported()) {
    // this build cannot hold buffers across turns of the event loop (pin.h)
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
    const std::string err = Run(call);
    if (err.empty()) d.Resolve(resolve_value(env, call, Result));
    else d.Reject(Napi::Error::New(env, err).Value());
    return d.Promise();
  }
  auto* w = new Worker<Call, Run, Result>(env, args, std::move(call));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// An entry point's two forms from one reader and one runner; the reader makes every check
// before any work. `name + "Sync"` runs on the calling thread and throws the runner's error;
// `name` returns a Promise, run off the event loop (queue).
template <class Call, Call (*Read)(Napi::Env, Napi::Object), std::string (*Run)(const Call&),
          ResultFn<Call> Result = nullptr>
struct Entry {
  static Napi::Value Sync(const Napi::CallbackInfo& info) {
    const Call call = Read(info.Env(), arg_object(info));
    const std::string err = Run(call);
    if (!err.empty()) throw Napi::Error::New(info.Env(), err);
    return resolve_value(info.Env(), call, Result);
  }
  static Napi::Value Async(const Napi::CallbackInfo& info) {
    Napi::Object args = arg_object(info);
    Call call = Read(info.Env(), args);
    return queue<Call, Run, Result>(info.Env(), args, std::move(call));
  }
  static void Register(Napi::Env env, Napi::Object exports, const std::string& name) {
    exports.Set(name + "Sync", Napi::Function::New(env, Sync));
    exports.Set(name, Napi::Function::New(env, Async));
  }
};

// Registers the device-resident and cuda-only entry points (device.cpp).
void register_device(Napi::Env env, Napi::Object exports);

}  // namespace prm_addon
