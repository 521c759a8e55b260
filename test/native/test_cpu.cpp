// native/core against the reference: fused scoring on one and on all threads, the
// standalone reductions, and ranking.
#include <cmath>
#include <limits>

#include "check_score.h"
#include "reference.h"
#include "suites.h"

namespace prmtest {

void test_cpu(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    tally().context = "cpu " + c.describe();
    const std::vector<double> ref = reference_step_log_probs(c);
    Outputs out(c.S(), c.spec.B);
    for (int threads : {1, 0}) {
      out.poison();
      prm::score_cpu(c.hidden(), c.bounds(), c.head(), c.threshold, out.view(), threads);
      check_score(c, ref, out, threads == 1 ? "score_cpu(1 thread)" : "score_cpu(all threads)");
    }
    // the standalone reductions agree with the fused ones
    const int64_t B = c.spec.B;
    for (int a = 0; a < prm::kNumAggregations; ++a) {
      std::vector<float> agg(B, 123.f);
      prm::aggregate_cpu(out.lp.data(), c.offsets.data(), B, static_cast<prm::Aggregation>(a), agg.data(), 0);
      expect(same_floats(agg.data(), out.agg[a].data(), B), "aggregate_cpu(" + std::to_string(a) + ") == fused");
    }
    std::vector<int32_t> fe(B, 77);
    prm::first_error_cpu(out.lp.data(), c.offsets.data(), B, c.threshold, fe.data(), 0);
    expect(fe == out.fe, "first_error_cpu == fused firstError");
  }
  tally().context = "cpu rank_groups";
  Rng rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<int32_t> goff{0};
    std::vector<float> scores;
    const int G = static_cast<int>(rng.range(0, 30));
    for (int g = 0; g < G; ++g) {
      const int n = static_cast<int>(rng.range(0, 70));
      for (int i = 0; i < n; ++i) {
        const double u = rng.uniform();
        // ties, NaN and infinities on purpose
        scores.push_back(u < 0.1 ? std::numeric_limits<float>::quiet_NaN()
                         : u < 0.3 ? static_cast<float>(rng.range(-2, 2))
                         : u < 0.35 ? -INFINITY
                                    : static_cast<float>(rng.normal()));
      }
      goff.push_back(static_cast<int32_t>(scores.size()));
    }
    std::vector<int32_t> got(scores.size(), -7);
    prm::rank_groups_cpu(scores.data(), goff.data(), G, got.data(), 0);
    expect(got == reference_rank(scores, goff), "rank_groups_cpu == reference (trial " + std::to_string(trial) + ")");
  }
}

}  // namespace prmtest
