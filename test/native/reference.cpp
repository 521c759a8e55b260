#include "reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace prmtest {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double log_sigmoid(double z) {
  if (std::isnan(z)) return kNaN;
  return z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z));
}

// log softmax(z)[p]; NaN if any z is NaN or the largest is infinite.
double log_softmax(const std::vector<double>& z, int p) {
  double m = -INFINITY;
  for (double v : z) {
    if (std::isnan(v)) return kNaN;
    m = std::max(m, v);
  }
  if (std::isinf(m)) return kNaN;
  double s = 0;
  for (double v : z) s += std::exp(v - m);
  return z[p] - m - std::log(s);
}

}  // namespace

std::vector<double> reference_step_log_probs(const Case& c) {
  const prm::HeadView head = c.head();
  const int64_t H = c.spec.H;
  std::vector<double> out;
  for (int64_t b = 0; b < c.spec.B; ++b)
    for (int32_t s = c.offsets[b]; s < c.offsets[b + 1]; ++s) {
      const int64_t t = c.positions[s];
      std::vector<double> z;
      if (head.kind == prm::HeadKind::Linear) {
        for (int k = 0; k < head.K; ++k) {
          double acc = head.bias ? head.bias[k] : 0.0;
          for (int64_t h = 0; h < H; ++h) acc += static_cast<double>(c.value(b, t, h)) * head.weight[k * H + h];
          z.push_back(acc);
        }
      } else if (head.columns) {
        for (int k = 0; k < head.K; ++k) z.push_back(c.value(b, t, head.columns[k]));
      } else {
        for (int64_t h = 0; h < H; ++h) z.push_back(c.value(b, t, h));
      }
      out.push_back(head.activation == prm::Activation::Sigmoid ? log_sigmoid(z[0]) : log_softmax(z, head.positive));
    }
  return out;
}

ChainRef reference_chain(const float* lp, int64_t n, double threshold) {
  ChainRef r{{kNaN, kNaN, kNaN, kNaN, kNaN}, -1};
  const double log_thr = std::log(threshold);
  bool nan = false;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(lp[i])) {
      nan = true;
    } else if (r.first_error < 0 && lp[i] < log_thr) {
      r.first_error = static_cast<int32_t>(i);
    }
  }
  if (n == 0 || nan) return r;
  double sum = 0, mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    sum += lp[i];
    mn = std::min<double>(mn, lp[i]);
    mx = std::max<double>(mx, lp[i]);
  }
  double mean;
  if (mx == -INFINITY) {
    mean = -INFINITY;
  } else {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(lp[i] - mx);
    mean = mx + std::log(s / n);
  }
  r.agg[prm::kProd] = sum;
  r.agg[prm::kMin] = mn;
  r.agg[prm::kLast] = lp[n - 1];
  r.agg[prm::kMean] = mean;
  r.agg[prm::kGeomean] = sum / n;
  return r;
}

std::vector<int32_t> reference_rank(const std::vector<float>& scores, const std::vector<int32_t>& goff) {
  std::vector<int32_t> out(scores.size());
  for (size_t g = 0; g + 1 < goff.size(); ++g) {
    std::vector<int32_t> idx;
    for (int32_t i = goff[g]; i < goff[g + 1]; ++i) idx.push_back(i);
    std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
      const float x = scores[a], y = scores[b];
      if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
      return x > y;
    });
    std::copy(idx.begin(), idx.end(), out.begin() + goff[g]);
  }
  return out;
}

}  // namespace prmtest
