// prmkit_native_tests: the kernel contract checked without Node.
//   prmkit_native_tests [--random N] [--seed S] [--cpu-only]
// Exit status 0 when every check passed (the CUDA part reports "skipped" without a device).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "suites.h"

using namespace prmtest;

int main(int argc, char** argv) {
  int random_count = 40;
  uint64_t seed = 20261122;
  bool cpu_only = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--random") && i + 1 < argc) random_count = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--cpu-only")) cpu_only = true;
    else {
      std::fprintf(stderr, "usage: %s [--random N] [--seed S] [--cpu-only]\n", argv[0]);
      return 2;
    }
  }
  Rng rng(seed);
  std::vector<Case> cases;
  for (const CaseSpec& spec : standard_specs(rng, random_count)) cases.push_back(make_case(rng, spec));
  std::printf("prmkit native tests: %zu cases (seed %llu)\n", cases.size(), static_cast<unsigned long long>(seed));

  int64_t before = tally().checks;
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
