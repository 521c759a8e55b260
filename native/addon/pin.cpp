#include "pin.h"

#ifdef PRMKIT_PIN_V8
#include <v8.h>

#include <cstring>
#endif

namespace prm_addon {

#ifdef PRMKIT_PIN_V8

// The three V8 functions below are the addon's only calls outside N-API. On ELF platforms
// they are weak references: a Node that does not export them (or exports them under other
// names) still loads the binary, which then reports pinning_supported() == false and runs
// its Promise forms on the calling thread. The loader's child-process check runs a pinned
// call before the binary is loaded in-process, so an incompatible V8 is found there.
// test/kernels/symbols.test.ts holds the binary to this: every V8 symbol it needs is weak.
#if defined(__ELF__)
// v8::ArrayBufferView::Buffer(), v8::ArrayBuffer::GetBackingStore(),
// v8::BackingStore::IsResizableByUserJavaScript() const
asm(".weak _ZN2v815ArrayBufferView6BufferEv");
asm(".weak _ZN2v811ArrayBuffer15GetBackingStoreEv");
asm(".weak _ZNK2v812BackingStore27IsResizableByUserJavaScriptEv");
extern "C" __attribute__((weak)) char prmkit_v8_buffer __asm__("_ZN2v815ArrayBufferView6BufferEv");
extern "C" __attribute__((weak)) char prmkit_v8_store __asm__("_ZN2v811ArrayBuffer15GetBackingStoreEv");
extern "C" __attribute__((weak)) char prmkit_v8_resizable __asm__("_ZNK2v812BackingStore27IsResizableByUserJavaScriptEv");
#endif

namespace {
#if defined(__ELF__)
bool v8_present() {
  return &prmkit_v8_buffer != nullptr && &prmkit_v8_store != nullptr && &prmkit_v8_resizable != nullptr;
}
#else
bool v8_present() { return true; }  // linked by name, resolved when the binary loads
#endif
}  // namespace

bool pinning_supported() {
  static const bool present = v8_present();
  return present;
}

Pin pin_typed_array(napi_env, napi_value value) {
  Pin pin;
  if (!pinning_supported()) return pin;
  // Node's napi_value is a v8::Local<v8::Value> in disguise: Node converts between them with
  // this same memcpy. Callers pass only values N-API has confirmed to be typed arrays.
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(value), "napi_value and v8::Local differ in size");
  std::memcpy(static_cast<void*>(&local), &value, sizeof(value));
  if (local.IsEmpty()) return pin;
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
