// Reading typed arrays and numbers out of N-API values, with errors that name the argument.
//
// None of these run JS (no coercion, no getters): callers first fetch every property they
// need from the argument object, then read them here, so a getter cannot resize, transfer or
// replace an array after its pointer has been taken.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../core/env.h"
#include "../core/validate.h"
#include "contract.h"
#include "pin.h"

namespace prm_addon {

struct ArrayArg {
  void* data = nullptr;
  int64_t length = 0;          // elements
  std::shared_ptr<void> keep;  // holds the backing store (pin.h)
};

inline void throw_check(Napi::Env env, const prm::Check& c) {
  if (c.kind == prm::Check::kType) throw Napi::TypeError::New(env, c.message);
  throw Napi::RangeError::New(env, c.message);
}

// Works for arrays on an ArrayBuffer and on a SharedArrayBuffer alike: the pointer comes from
// napi_get_typedarray_info, not from the buffer object (napi_get_arraybuffer_info refuses
// shared buffers).
inline ArrayArg typed_array(Napi::Env env, Napi::Value v, napi_typedarray_type want, const char* name,
                            const char* type_name, bool optional = false) {
  if (optional && (v.IsUndefined() || v.IsNull())) return {};
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (!v.IsTypedArray() || napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != want)
    throw Napi::TypeError::New(env, std::string(name) + " must be a " + type_name);
  Pin pin = pin_typed_array(env, v);
  if (pin.resizable)
    throw Napi::TypeError::New(env, std::string(name) +
                                        " must not be on a resizable ArrayBuffer or growable SharedArrayBuffer "
                                        "(it could shrink while the kernels read it)");
  ArrayArg a;
  a.data = length ? data : nullptr;
  a.length = static_cast<int64_t>(length);
  a.keep = std::move(pin.keep);
  return a;
}

// A private copy of a small input array: checked and read by the kernels from this copy, so
// a caller that changes the original during the call (or another thread writing to a shared
// buffer) cannot steer what is read or where results go.
template <class T>
std::vector<T> copy_of(const ArrayArg& a) {
  const T* p = static_cast<const T*>(a.data);
  return p ? std::vector<T>(p, p + a.length) : std::vector<T>();
}

inline int64_t integer(Napi::Env env, Napi::Value v, const char* name, int64_t lo, int64_t hi) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d)))
    throw Napi::RangeError::New(env, std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "]");
  return static_cast<int64_t>(d);
}

inline double number(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// One of a fixed set of names (contract.h); returns its index.
template <size_t N>
int enum_name(Napi::Env env, Napi::Value v, const char* name, const char* const (&names)[N]) {
  const int i = v.IsString() ? name_index(names, v.As<Napi::String>().Utf8Value()) : -1;
  if (i < 0) throw Napi::TypeError::New(env, std::string(name) + " must be one of " + name_list(names));
  return i;
}

// An own or inherited property, fetched once (this is where getters run).
inline Napi::Value prop(Napi::Object o, const char* key) { return o.Get(key); }

}  // namespace prm_addon
