// A minimal test harness for the C++ tests (no Node, no framework: they must also run on a
// GPU box with only a compiler and the CUDA toolkit).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

namespace prmtest {

struct Tally {
  int64_t checks = 0, failures = 0;
  std::string context;  // printed with each failure: which case failed
};
Tally& tally();

inline bool expect(bool ok, const std::string& what) {
  Tally& t = tally();
  ++t.checks;
  if (!ok) {
    ++t.failures;
    if (t.failures <= 40) std::fprintf(stderr, "FAIL [%s] %s\n", t.context.c_str(), what.c_str());
  }
  return ok;
}

// Same NaN-ness, and within abs + rel * |b| otherwise (infinities must match exactly).
inline bool close(double a, double b, double abs_tol, double rel_tol) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= abs_tol + rel_tol * std::fabs(b);
}

inline std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// splitmix64: small, fast, and the same sequence on every platform.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1)); }
  double normal() {
    const double u = uniform() + 1e-12, v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
  bool chance(double p) { return uniform() < p; }
};

}  // namespace prmtest
