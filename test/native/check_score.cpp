#include "check_score.h"

#include <cmath>
#include <cstring>

#include "reference.h"

namespace prmtest {

void check_score(const Case& c, const std::vector<double>& ref_lp, Outputs& got, const std::string& who) {
  const int64_t S = c.S(), B = c.spec.B;
  int lp_bad = 0, agg_bad = 0, fe_bad = 0, poison = 0;
  std::string first;
  for (int64_t s = 0; s < S; ++s) {
    if (is_poison(got.lp[s])) ++poison;
    if (!close(got.lp[s], ref_lp[s], 2e-4, 2e-4) && lp_bad++ == 0)
      first = "lp[" + std::to_string(s) + "] = " + num(got.lp[s]) + " vs reference " + num(ref_lp[s]);
  }
  for (int64_t b = 0; b < B; ++b) {
    const int64_t s0 = c.offsets[b], n = c.offsets[b + 1] - s0;
    const ChainRef r = reference_chain(got.lp.data() + s0, n, c.threshold);
    for (int a = 0; a < prm::kNumAggregations; ++a) {
      if (is_poison(got.agg[a][b])) ++poison;
      if (!close(got.agg[a][b], r.agg[a], 1e-5, 1e-5) && agg_bad++ == 0 && first.empty())
        first = "aggregate " + std::to_string(a) + " of candidate " + std::to_string(b) + " = " + num(got.agg[a][b]) +
                " vs " + num(r.agg[a]);
    }
    if (got.fe[b] != r.first_error && fe_bad++ == 0 && first.empty())
      first = "firstError[" + std::to_string(b) + "] = " + std::to_string(got.fe[b]) + " vs " +
              std::to_string(r.first_error);
  }
  expect(poison == 0, who + ": " + std::to_string(poison) + " outputs left unwritten (poison)");
  expect(lp_bad == 0, who + ": " + std::to_string(lp_bad) + " step log-probs off; first: " + first);
  expect(agg_bad == 0, who + ": " + std::to_string(agg_bad) + " aggregates off; first: " + first);
  expect(fe_bad == 0, who + ": " + std::to_string(fe_bad) + " first errors off; first: " + first);
}

bool same_floats(const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(a + i, b + i, 4) != 0) return false;
  }
  return true;
}

}  // namespace prmtest
