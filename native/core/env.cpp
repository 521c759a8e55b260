#include "env.h"

#include <cstdlib>
#include <cstring>

namespace prm {

namespace {

// Whole-string decimal integer in [lo, hi]; atoi would wrap "100000000000" and accept "8x".
bool parse_int(const char* s, long lo, long hi, int* out) {
  if (!*s) return false;
  long v = 0;
  for (const char* p = s; *p; ++p) {
    if (*p < '0' || *p > '9') return false;
    v = v * 10 + (*p - '0');
    if (v > hi) return false;
  }
  if (v < lo) return false;
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

EnvSettings parse_env(const char* threads, const char* simd) {
  EnvSettings e;
  if (threads && *threads) {
    if (!parse_int(threads, 1, kMaxThreads, &e.threads)) {
      e.error = std::string("PRMKIT_THREADS must be an integer in [1, ") + std::to_string(kMaxThreads) + "], got '" +
                threads + "'";
      e.threads = 0;
      return e;
    }
  }
  if (simd && *simd) {
    if (std::strcmp(simd, "scalar") == 0) e.force_scalar = true;
    else if (std::strcmp(simd, "auto") != 0)
      e.error = std::string("PRMKIT_SIMD must be 'auto' or 'scalar', got '") + simd + "'";
  }
  return e;
}

const EnvSettings& env_settings() {
  static const EnvSettings settings = parse_env(std::getenv("PRMKIT_THREADS"), std::getenv("PRMKIT_SIMD"));
  return settings;
}

}  // namespace prm
