// Stable log-probabilities from head outputs, and the per-candidate reductions, shared by
// every cpu path (and mirrored by the CUDA kernels and the js reference).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "prmkit.h"

namespace prm {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// log sigmoid(z) = -softplus(-z), without overflow for large |z|.
inline double log_sigmoid(double z) { return std::fmin(z, 0.0) - std::log1p(std::exp(-std::fabs(z))); }

// log softmax(z)[positive]; NaN if any output is NaN.
inline double log_softmax_at(const float* z, int32_t K, int32_t positive) {
  double m = -std::numeric_limits<double>::infinity();
  for (int32_t k = 0; k < K; ++k) {
    if (std::isnan(z[k])) return kNaN;
    if (z[k] > m) m = z[k];
  }
  if (std::isinf(m)) return kNaN;  // non-finite logits have no defined softmax here
  double s = 0.0;
  for (int32_t k = 0; k < K; ++k) s += std::exp(static_cast<double>(z[k]) - m);
  return static_cast<double>(z[positive]) - m - std::log(s);
}

inline float log_score(const float* z, int32_t K, Activation act, int32_t positive) {
  if (act == Activation::Sigmoid) return static_cast<float>(log_sigmoid(z[0]));
  return static_cast<float>(log_softmax_at(z, K, positive));
}

// Reductions of one candidate's step log-probs [lp, lp + n). An empty chain or any NaN step
// gives NaN.
struct ChainStats {
  float prod, min, last, mean, geomean;
  int32_t first_error;
};

inline ChainStats reduce_chain(const float* lp, int64_t n, double log_threshold) {
  ChainStats c{kNaN, kNaN, kNaN, kNaN, kNaN, -1};
  if (n == 0) return c;
  double sum = 0.0;
  float mn = std::numeric_limits<float>::infinity();
  float mx = -std::numeric_limits<float>::infinity();
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    const float v = lp[i];
    if (std::isnan(v)) {
      nan = true;
      continue;
    }
    if (c.first_error < 0 && v < log_threshold) c.first_error = static_cast<int32_t>(i);
    sum += v;
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  if (nan) return c;
  c.prod = static_cast<float>(sum);
  c.min = mn;
  c.last = lp[n - 1];
  c.geomean = static_cast<float>(sum / static_cast<double>(n));
  if (std::isinf(mx) && mx < 0) {
    c.mean = mx;  // every p is 0
  } else {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(lp[i]) - mx);
    c.mean = static_cast<float>(mx + std::log(s / static_cast<double>(n)));
  }
  return c;
}

}  // namespace prm
