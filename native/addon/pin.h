// Keeping the memory behind a typed array alive for a call that outlives the JS turn.
//
// N-API hands out a raw pointer that stays valid only while the buffer is neither detached
// nor shrunk. A Promise-form call reads that memory on pool threads while JS runs, and JS
// can transfer the buffer (the backing store moves to a new ArrayBuffer, which may then be
// collected) or resize a resizable one (its pages are decommitted). N-API has no way to hold
// the memory itself (a reference or finalizer holds the old, now empty, ArrayBuffer object,
// not its store), so the addon takes a reference to the backing store through three V8
// functions, the only ones it calls beyond N-API; resizable and growable buffers are refused
// outright. Those functions are weak references (pin.cpp): the binary needs N-API alone to
// load, and where the running Node lacks them, or the build had no V8 headers, the Promise
// form runs on the calling thread instead (pinning_supported() says which).
#pragma once
#include <napi.h>

#include <memory>

namespace prm_addon {

struct Pin {
  std::shared_ptr<void> keep;  // null when nothing needs holding (or this build cannot hold)
  bool resizable = false;      // a resizable ArrayBuffer or growable SharedArrayBuffer
};

// `value` is a typed array.
Pin pin_typed_array(napi_env env, napi_value value);
bool pinning_supported();

}  // namespace prm_addon
