// A deliberately plain reference for the kernel contract: double precision throughout,
// no SIMD, no threads, formulas written from the definitions (not from native/core).
#pragma once
#include <cstdint>
#include <vector>

#include "cases.h"

namespace prmtest {

// log P(step correct) of every step, in double.
std::vector<double> reference_step_log_probs(const Case& c);

struct ChainRef {
  double agg[prm::kNumAggregations];
  int32_t first_error;
};
// Reductions of one candidate's step log-probs (given as float, as the kernels store them).
ChainRef reference_chain(const float* lp, int64_t n, double threshold);

// Ranking by the contract: best first, NaN last, ties by index.
std::vector<int32_t> reference_rank(const std::vector<float>& scores, const std::vector<int32_t>& group_offsets);

}  // namespace prmtest
