// The checks every backend's score output must pass against the reference.
#pragma once
#include <string>
#include <vector>

#include "cases.h"

namespace prmtest {

// lp against the double reference (tolerance for float accumulation), aggregates and first
// errors against the reference reductions of the backend's own lp (tight, exact for
// indices), and no poison left anywhere.
void check_score(const Case& c, const std::vector<double>& ref_lp, Outputs& got, const std::string& who);

// Bitwise equality with NaN == NaN (gatherRows widening is exact on every backend).
bool same_floats(const float* a, const float* b, int64_t n);

}  // namespace prmtest
