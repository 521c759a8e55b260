// The environment variables' parser (native/core/env.cpp): whole-string integers in range,
// never a wrapped atoi, and the one SIMD override.
#include "../../native/core/env.h"
#include "harness.h"
#include "suites.h"

namespace prmtest {

void test_env() {
  tally().context = "env";
  struct Want {
    const char* threads;
    const char* simd;
    int threads_out;
    bool scalar;
    bool ok;
  };
  const Want cases[] = {
      {nullptr, nullptr, 0, false, true},       {"", "", 0, false, true},
      {"1", "auto", 1, false, true},            {"1024", "scalar", 1024, true, true},
      {"0", nullptr, 0, false, false},          {"1025", nullptr, 0, false, false},
      {"100000", nullptr, 0, false, false},     {"99999999999999999999999", nullptr, 0, false, false},
      {"-4", nullptr, 0, false, false},         {"+4", nullptr, 0, false, false},
      {"4x", nullptr, 0, false, false},         {" 4", nullptr, 0, false, false},
      {"4", "avx512", 4, false, false},         {nullptr, "SCALAR", 0, false, false},
  };
  for (const Want& w : cases) {
    const prm::EnvSettings e = prm::parse_env(w.threads, w.simd);
    const std::string what = std::string("PRMKIT_THREADS=") + (w.threads ? w.threads : "(unset)") +
                             " PRMKIT_SIMD=" + (w.simd ? w.simd : "(unset)");
    expect(e.error.empty() == w.ok, what + ": error '" + e.error + "'");
    if (w.ok) {
      expect(e.threads == w.threads_out, what + ": threads " + num(e.threads));
      expect(e.force_scalar == w.scalar, what + ": force_scalar");
    } else {
      // the first bad variable is named (every failing case above has one bad value)
      const bool simd_bad = w.simd && std::string(w.simd) != "auto" && std::string(w.simd) != "scalar" && *w.simd;
      const char* name = simd_bad ? "PRMKIT_SIMD" : "PRMKIT_THREADS";
      expect(e.error.rfind(name, 0) == 0, what + ": the message names " + name + ": " + e.error);
    }
  }
}

}  // namespace prmtest
