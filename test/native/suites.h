#pragma once
#include <vector>

#include "cases.h"

namespace prmtest {
void test_cpu(const std::vector<Case>& cases);
// native/core/env.cpp's parsing of PRMKIT_THREADS / PRMKIT_SIMD.
void test_env();
// native/core/bce.cpp: gradients against differences of its own loss, thread independence.
void test_bce();
// native/core/lm_head.cpp: each SIMD variant part by part, whole calls against float64.
void test_lm_head();
// Returns false when no device could be used (the tests then only check the failure path).
bool test_cuda(const std::vector<Case>& cases);
}  // namespace prmtest
