// prmkit_native_tests: the kernel contract checked without Node.
//   prmkit_native_tests [--random N] [--seed S] [--cpu-only] [--canary asan|ubsan]
// Exit status 0 when every check passed (the CUDA part reports "skipped" without a device).
// --canary commits one deliberate heap overflow (asan) or signed overflow (ubsan) and exits:
// a sanitized build must die on it, which shows the sanitizer run is really instrumented.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "suites.h"

using namespace prmtest;

namespace {

// volatile keeps the compiler from folding the faults away. The heap read is hidden from
// UBSan's object-size check, so that it is AddressSanitizer that reports it.
#if defined(__GNUC__) || defined(__clang__)
__attribute__((no_sanitize("undefined")))
#endif
int heap_overflow() {
  volatile int n = 8;
  int* heap = new int[8];
  volatile int v = heap[n];  // one past the end
  delete[] heap;
  return v == 12345 ? 3 : 0;
}

int signed_overflow() {
  volatile int n = 8;
  volatile int big = INT32_MAX;
  volatile int v = big + n;
  return v == 0 ? 3 : 0;
}

int canary(const char* kind) {
  if (!std::strcmp(kind, "asan")) return heap_overflow();
  if (!std::strcmp(kind, "ubsan")) return signed_overflow();
  std::fprintf(stderr, "unknown canary '%s' (asan|ubsan)\n", kind);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int random_count = 40;
  uint64_t seed = 20261122;
  bool cpu_only = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--random") && i + 1 < argc) random_count = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--cpu-only")) cpu_only = true;
    else if (!std::strcmp(argv[i], "--canary") && i + 1 < argc) return canary(argv[++i]);
    else {
      std::fprintf(stderr, "usage: %s [--random N] [--seed S] [--cpu-only] [--canary asan|ubsan]\n", argv[0]);
      return 2;
    }
  }
  Rng rng(seed);
  std::vector<Case> cases;
  for (const CaseSpec& spec : standard_specs(rng, random_count)) cases.push_back(make_case(rng, spec));
  std::printf("prmkit native tests: %zu cases (seed %llu)\n", cases.size(), static_cast<unsigned long long>(seed));

  int64_t before = tally().checks;
  test_env();
  test_bce();
  test_lm_head();
  test_cpu(cases);
  std::printf("cpu: %lld checks\n", static_cast<long long>(tally().checks - before));
  before = tally().checks;
  const bool ran = cpu_only ? false : test_cuda(cases);
  if (cpu_only) std::printf("cuda: skipped (--cpu-only)\n");
  std::printf("cuda: %lld checks%s\n", static_cast<long long>(tally().checks - before), ran ? "" : " (failure path only)");

  std::printf("%s: %lld checks, %lld failed\n", tally().failures ? "FAILED" : "PASSED",
              static_cast<long long>(tally().checks), static_cast<long long>(tally().failures));
  return tally().failures ? 1 : 0;
}
