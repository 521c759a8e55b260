// Reading typed arrays and numbers out of N-API values, with errors that name the argument.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

#include "../core/validate.h"

namespace prm_addon {

struct ArrayArg {
  void* data = nullptr;
  int64_t length = 0;  // elements
};

inline void throw_check(Napi::Env env, const prm::Check& c) {
  if (c.kind == prm::Check::kType) throw Napi::TypeError::New(env, c.message);
  throw Napi::RangeError::New(env, c.message);
}

inline ArrayArg typed_array(Napi::Env env, Napi::Value v, napi_typedarray_type want, const char* name,
                            const char* type_name, bool optional = false) {
  if (optional && (v.IsUndefined() || v.IsNull())) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != want)
    throw Napi::TypeError::New(env, std::string(name) + " must be a " + type_name);
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  Napi::ArrayBuffer buf = ta.ArrayBuffer();
  ArrayArg a;
  a.data = static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset();
  a.length = static_cast<int64_t>(ta.ElementLength());
  return a;
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

}  // namespace prm_addon
