// The environment variables the kernels read, parsed once and range-checked. A bad value is
// an error the caller reports (the addon refuses to load with it), never a silent default:
// `PRMKIT_THREADS=100000` used to reach std::thread and abort the process.
#pragma once
#include <string>

namespace prm {

constexpr int kMaxThreads = 1024;

struct EnvSettings {
  int threads = 0;             // PRMKIT_THREADS, 1..kMaxThreads; 0 when unset (all cores)
  bool force_scalar = false;   // PRMKIT_SIMD=scalar
  std::string error;           // empty when every variable is valid
};

// Parsed on first use; the same answer for the life of the process.
const EnvSettings& env_settings();

// Exposed for the C++ tests: parses the given values (null = unset).
EnvSettings parse_env(const char* threads, const char* simd);

}  // namespace prm
