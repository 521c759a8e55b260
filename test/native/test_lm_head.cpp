// The LM-head log-probability kernel (native/core/lm_head.cpp) without Node: every
// instruction-set variant this build and cpu have (portable, AVX2, AVX-512F) checked part by
// part against double precision (the panel's dot products, the max, the sum of exponentials,
// including NaN and tails that end mid-vector), then the whole call (the variant this cpu
// picks) against a float64 log-softmax on shapes that end mid-block, mid-tile and on one
// vocabulary entry, with one thread and with all.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../../native/core/lm_head.h"
#include "harness.h"
#include "suites.h"

namespace prmtest {
namespace {

void check_variant(Rng& rng, const prm::LmHeadKernels& k) {
  tally().context = std::string("lm_head ") + k.name;
  // panel: rt rows of X [H] against a transposed tile of rv columns (ldw > rv)
  for (int64_t H : {1, 7, 64, 131}) {
    const int64_t ldw = k.rv + 5, ldc = k.rv + 3;
    std::vector<float> X(static_cast<size_t>(k.rt * H)), Wt(static_cast<size_t>(H * ldw)), C(static_cast<size_t>(k.rt * ldc), 0.f);
    for (float& x : X) x = static_cast<float>(rng.normal());
    for (float& w : Wt) w = static_cast<float>(rng.normal());
    k.panel(X.data(), H, Wt.data(), ldw, C.data(), ldc);
    for (int r = 0; r < k.rt; ++r)
      for (int j = 0; j < k.rv; ++j) {
        double want = 0;
        for (int64_t kk = 0; kk < H; ++kk) want += static_cast<double>(X[r * H + kk]) * Wt[kk * ldw + j];
        expect(close(C[r * ldc + j], want, 1e-4, 1e-5), "panel H=" + num(static_cast<double>(H)) + " C[" + num(r) + "][" + num(j) + "] = " + num(C[r * ldc + j]) + ", want " + num(want));
      }
  }
  // max and sum of exp over lengths that end mid-vector
  for (int64_t n : {1, 5, 16, 17, 47, 100}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = static_cast<float>(rng.normal() * 30);
    const float m = *std::max_element(x.begin(), x.end());
    expect(k.max(x.data(), n) == m, "max n=" + num(static_cast<double>(n)));
    double want = 0;
    for (float v : x) want += std::exp(static_cast<double>(v) - m);
    expect(close(k.sum_exp(x.data(), n, m), want, 0, 2e-6), "sum_exp n=" + num(static_cast<double>(n)) + " got " + num(k.sum_exp(x.data(), n, m)) + " want " + num(want));
    x[static_cast<size_t>(n / 2)] = NAN;
    expect(std::isnan(k.max(x.data(), n)), "max with a NaN is NaN, n=" + num(static_cast<double>(n)));
    expect(std::isnan(k.sum_exp(x.data(), n, m)), "sum_exp with a NaN is NaN, n=" + num(static_cast<double>(n)));
  }
}

void check_call(Rng& rng, int64_t B, int64_t T, int64_t H, int64_t V, int64_t N, prm::Dtype wd) {
  tally().context = "lm_head call B=" + num(static_cast<double>(B)) + " T=" + num(static_cast<double>(T)) + " H=" + num(static_cast<double>(H)) + " V=" + num(static_cast<double>(V)) + " N=" + num(static_cast<double>(N));
  std::vector<float> hidden(static_cast<size_t>(B * T * H)), w(static_cast<size_t>(V * H));
  for (float& x : hidden) x = static_cast<float>(rng.normal());
  for (float& x : w) x = static_cast<float>(rng.normal() * 0.3);
  std::vector<uint16_t> w16(w.size());
  if (wd == prm::Dtype::BF16)  // truncate to bfloat16 and use the truncated values as the truth
    for (size_t i = 0; i < w.size(); ++i) {
      uint32_t u;
      std::memcpy(&u, &w[i], 4);
      w16[i] = static_cast<uint16_t>(u >> 16);
      u = static_cast<uint32_t>(w16[i]) << 16;
      std::memcpy(&w[i], &u, 4);
    }
  std::vector<int32_t> rows(static_cast<size_t>(N)), targets(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    rows[n] = static_cast<int32_t>(rng.range(0, B * T - 1));
    targets[n] = static_cast<int32_t>(rng.range(0, V - 1));
  }
  const prm::HiddenView hv{hidden.data(), prm::Dtype::F32, B, T, H};
  const prm::LmHeadView head{wd == prm::Dtype::BF16 ? static_cast<const void*>(w16.data()) : w.data(), wd, V, H};
  expect(static_cast<bool>(prm::check_token_log_probs(hv, head, V * H, rows.data(), N, targets.data(), N, N)), "a valid call passes the checks");
  std::vector<float> out(static_cast<size_t>(N)), out1(static_cast<size_t>(N));
  prm::token_log_probs_cpu(hv, rows.data(), targets.data(), N, head, out.data(), 0);
  prm::token_log_probs_cpu(hv, rows.data(), targets.data(), N, head, out1.data(), 1);
  std::vector<double> z(static_cast<size_t>(V));
  for (int64_t n = 0; n < N; ++n) {
    double m = -INFINITY;
    for (int64_t v = 0; v < V; ++v) {
      double a = 0;
      for (int64_t kk = 0; kk < H; ++kk) a += static_cast<double>(hidden[rows[n] * H + kk]) * w[v * H + kk];
      z[v] = a;
      m = std::max(m, a);
    }
    double s = 0;
    for (double a : z) s += std::exp(a - m);
    const double want = z[targets[n]] - m - std::log(s);
    expect(close(out[n], want, 2e-5, 1e-6), "row " + num(static_cast<double>(n)) + ": " + num(out[n]) + ", want " + num(want));
    expect(close(out1[n], want, 2e-5, 1e-6), "one thread, row " + num(static_cast<double>(n)));
  }
  // out-of-range indices are refused before any work
  rows[0] = static_cast<int32_t>(B * T);
  expect(!prm::check_token_log_probs(hv, head, V * H, rows.data(), N, targets.data(), N, N), "a row past B x T is refused");
}

}  // namespace

void test_lm_head() {
  Rng rng(77);
  check_variant(rng, prm::scalar_lm_head_kernels());
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if (const prm::LmHeadKernels* k = prm::avx2_lm_head_kernels(); k && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) check_variant(rng, *k);
  if (const prm::LmHeadKernels* k = prm::avx512_lm_head_kernels(); k && __builtin_cpu_supports("avx512f")) check_variant(rng, *k);
#endif
  check_call(rng, 1, 1, 1, 1, 1, prm::Dtype::F32);
  check_call(rng, 2, 9, 24, 97, 11, prm::Dtype::F32);
  check_call(rng, 3, 20, 70, 3001, 29, prm::Dtype::BF16);
}

}  // namespace prmtest
