// A call's arguments read out of its JS argument object into raw views, with every check
// of the kernel contract done first; and the AsyncWorker that runs a call off the event loop.
#pragma once
#include <napi.h>

#include <string>

#include "../core/prmkit.h"
#include "backend.h"

namespace prm_addon {

struct ScoreCall {
  prm::HiddenView hidden{};
  prm::BoundariesView bounds{};
  prm::HeadView head{};
  prm::ScoreOut out{};
  float threshold = 0.5f;
  int threads = 0;
  Backend backend = Backend::Cpu;
  ResidentRefPtr resident;  // set for calls on a device-resident copy
};

struct GatherCall {
  prm::HiddenView hidden{};
  prm::BoundariesView bounds{};
  float* out = nullptr;
  int threads = 0;
  Backend backend = Backend::Cpu;
  ResidentRefPtr resident;
};

// firstError(stepLogProbs, offsets, threshold, out, ...) and rankGroups(scores, groupOffsets,
// out, ...), shared by the cpu and cuda entry points.
struct FirstErrorCall {
  const float* step_log_probs;
  const int32_t* offsets;
  int64_t B;
  float threshold;
  int32_t* out;
};
struct RankGroupsCall {
  const float* scores;
  const int32_t* group_offsets;
  int64_t G;
  int32_t* out;
};
FirstErrorCall read_first_error(const Napi::CallbackInfo& info);
RankGroupsCall read_rank_groups(const Napi::CallbackInfo& info);

Napi::Object arg_object(const Napi::CallbackInfo& info);
Backend read_backend(Napi::Env env, Napi::Object o);
void read_hidden(Napi::Env env, Napi::Object o, prm::HiddenView& h);
void read_bounds(Napi::Env env, Napi::Object o, const prm::HiddenView& h, prm::BoundariesView& bd);
void read_head(Napi::Env env, Napi::Object o, int64_t H, prm::HeadView& hd);
// threshold and the caller-allocated outputs (stepLogProbs, aggregates, firstError)
void read_score_outputs(Napi::Env env, Napi::Object o, ScoreCall& call);
ScoreCall read_score(Napi::Env env, Napi::Object o);
GatherCall read_gather(Napi::Env env, Napi::Object o);
void check_backend_ready(Napi::Env env, Backend b);

// Runs `Call` off the event loop; rejects with the backend's error message if it fails.
template <class Call, std::string (*Run)(const Call&)>
class Worker : public Napi::AsyncWorker {
 public:
  Worker(Napi::Env env, Napi::Object args, Call call)
      : Napi::AsyncWorker(env, "prmkit"), deferred_(Napi::Promise::Deferred::New(env)), call_(std::move(call)) {
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

template <class Call, std::string (*Run)(const Call&)>
Napi::Promise queue(Napi::Env env, Napi::Object args, Call call) {
  auto* w = new Worker<Call, Run>(env, args, std::move(call));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// Registers the device-resident and cuda-only entry points (device.cpp).
void register_device(Napi::Env env, Napi::Object exports);

}  // namespace prm_addon
