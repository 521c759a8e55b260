#include "pin.h"

#ifdef PRMKIT_PIN_V8
#include <v8.h>

#include <cstring>
#endif

namespace prm_addon {

#ifdef PRMKIT_PIN_V8

bool pinning_supported() { return true; }

Pin pin_typed_array(napi_env, napi_value value) {
  // Node's napi_value is a v8::Local<v8::Value> in disguise: Node converts between them with
  // this same memcpy.
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(value), "napi_value and v8::Local differ in size");
  std::memcpy(static_cast<void*>(&local), &value, sizeof(value));
  Pin pin;
  if (local.IsEmpty() || !local->IsArrayBufferView()) return pin;
  std::shared_ptr<v8::BackingStore> store = local.As<v8::ArrayBufferView>()->Buffer()->GetBackingStore();
  pin.resizable = store->IsResizableByUserJavaScript();
  pin.keep = std::move(store);
  return pin;
}

#else

bool pinning_supported() { return false; }

// Without V8 the store cannot be held; callers run on the calling thread instead, where no
// JS can touch the buffer until the call returns. Resizability cannot be read either, and
// on the calling thread it does not matter.
Pin pin_typed_array(napi_env, napi_value) { return {}; }

#endif

}  // namespace prm_addon
