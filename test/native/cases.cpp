#include "cases.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace prmtest {
namespace {

uint16_t to_bf16(float f) {  // round to nearest even; NaN stays NaN
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

uint16_t to_f16(float f) {  // round to nearest even, with subnormals, inf and NaN
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {                                                 // subnormal half
    float a;
    std::memcpy(&a, &abs, 4);
    const float scaled = a * 16777216.0f;  // / 2^-24
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(scaled)));
  }
  uint32_t m = abs + 0xc8000000u;  // rebias exponent 127 -> 15
  m += 0x0fffu + ((m >> 13) & 1u);
  return static_cast<uint16_t>(sign | (m >> 13));
}


}  // namespace

Tally& tally() {
  static Tally t;
  return t;
}

bool is_poison(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u == kPoisonBits;
}

Outputs::Outputs(int64_t S, int64_t B) : lp(S), fe(B) {
  for (auto& a : agg) a.resize(B);
}

void Outputs::poison() {
  float p;
  std::memcpy(&p, &kPoisonBits, 4);
  std::fill(lp.begin(), lp.end(), p);
  for (auto& a : agg) std::fill(a.begin(), a.end(), p);
  std::fill(fe.begin(), fe.end(), 0x5a5a5a5a);
}

prm::ScoreOut Outputs::view() {
  prm::ScoreOut o{};
  o.step_log_probs = lp.data();
  for (int a = 0; a < prm::kNumAggregations; ++a) o.aggregates[a] = agg[a].data();
  o.first_error = fe.data();
  return o;
}

prm::HiddenView Case::hidden() const {
  prm::HiddenView h{};
  h.data = spec.dtype == prm::Dtype::F32 ? static_cast<const void*>(f32.data()) : static_cast<const void*>(u16.data());
  h.dtype = spec.dtype;
  h.B = spec.B;
  h.T = spec.T;
  h.H = spec.H;
  return h;
}

prm::BoundariesView Case::bounds() const { return {offsets.data(), positions.data(), S()}; }

prm::HeadView Case::head() const {
  prm::HeadView hd{};
  hd.kind = spec.kind;
  hd.activation = spec.activation;
  if (spec.kind == prm::HeadKind::Linear) {
    hd.weight = weight.data();
    hd.bias = spec.bias ? bias.data() : nullptr;
    hd.K = spec.K;
  } else {
    hd.columns = columns.empty() ? nullptr : columns.data();
    hd.K = columns.empty() ? static_cast<int32_t>(spec.H) : static_cast<int32_t>(columns.size());
  }
  hd.positive = spec.activation == prm::Activation::Sigmoid ? 0 : hd.K - 1;
  return hd;
}

float Case::value(int64_t b, int64_t t, int64_t h) const {
  const int64_t i = (b * spec.T + t) * spec.H + h;
  if (spec.dtype == prm::Dtype::F32) return f32[i];
  const uint16_t bits = u16[i];
  if (spec.dtype == prm::Dtype::BF16) {
    const uint32_t u = static_cast<uint32_t>(bits) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  // float16 -> float, written independently of native/core/half.h
  const int e = (bits >> 10) & 0x1f, m = bits & 0x3ff;
  const double sign = (bits & 0x8000) ? -1.0 : 1.0;
  if (e == 0x1f) return m ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(sign * INFINITY);
  if (e == 0) return static_cast<float>(sign * std::ldexp(m, -24));
  return static_cast<float>(sign * std::ldexp(1024 + m, e - 25));
}

std::string Case::describe() const {
  static const char* dt[] = {"f32", "f16", "bf16"};
  std::string s = std::string(dt[static_cast<int>(spec.dtype)]) + " B=" + std::to_string(spec.B) +
                  " T=" + std::to_string(spec.T) + " H=" + std::to_string(spec.H) + " S=" + std::to_string(S());
  s += spec.kind == prm::HeadKind::Linear ? " linear K=" + std::to_string(spec.K) + (spec.bias ? "+bias" : "")
                                          : " logits cols=" + std::to_string(columns.size());
  s += spec.activation == prm::Activation::Sigmoid ? " sigmoid" : " softmax";
  if (spec.nan_rows > 0) s += " nan";
  if (spec.inf_rows > 0) s += " inf";
  return s;
}

Case make_case(Rng& rng, const CaseSpec& spec) {
  Case c;
  c.spec = spec;
  const int64_t n = spec.B * spec.T * spec.H;
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<float>(rng.normal() * spec.scale);
  // ragged chains: some empty, the rest up to max_steps, positions anywhere in [0, T)
  c.offsets.push_back(0);
  for (int64_t b = 0; b < spec.B; ++b) {
    const int steps = rng.chance(0.15) ? 0 : static_cast<int>(rng.range(0, spec.max_steps));
    for (int i = 0; i < steps && spec.T > 0; ++i) c.positions.push_back(static_cast<int32_t>(rng.range(0, spec.T - 1)));
    c.offsets.push_back(static_cast<int32_t>(c.positions.size()));
  }
  // poison some boundary rows with NaN / inf
  for (int64_t b = 0; b < spec.B; ++b)
    for (int32_t s = c.offsets[b]; s < c.offsets[b + 1]; ++s) {
      float* row = v.data() + (b * spec.T + c.positions[s]) * spec.H;
      if (rng.chance(spec.nan_rows)) row[rng.range(0, spec.H - 1)] = std::numeric_limits<float>::quiet_NaN();
      if (rng.chance(spec.inf_rows)) row[rng.range(0, spec.H - 1)] = rng.chance(0.5) ? INFINITY : -INFINITY;
    }
  if (spec.dtype == prm::Dtype::F32) {
    c.f32 = std::move(v);
  } else {
    c.u16.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) c.u16[i] = spec.dtype == prm::Dtype::BF16 ? to_bf16(v[i]) : to_f16(v[i]);
  }
  if (spec.kind == prm::HeadKind::Linear) {
    c.weight.resize(static_cast<size_t>(spec.K * spec.H));
    const double ws = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(spec.H, 1)));
    for (auto& w : c.weight) w = static_cast<float>(rng.normal() * ws * 2.0);
    c.bias.resize(static_cast<size_t>(spec.K));
    for (auto& b : c.bias) b = static_cast<float>(rng.normal() * 0.5);
  } else if (spec.K > 0) {
    for (int k = 0; k < spec.K; ++k) c.columns.push_back(static_cast<int32_t>(rng.range(0, spec.H - 1)));
  }
  c.threshold = static_cast<float>(0.2 + 0.6 * rng.uniform());
  return c;
}

std::vector<CaseSpec> standard_specs(Rng& rng, int random_count) {
  using prm::Activation;
  using prm::Dtype;
  using prm::HeadKind;
  std::vector<CaseSpec> out;
  const Dtype dtypes[] = {Dtype::F32, Dtype::F16, Dtype::BF16};
  for (Dtype d : dtypes) {
    // the real PRM heads: value head (sigmoid), 2-class head (softmax), LM-head columns
    out.push_back({d, 6, 24, 256, 8, HeadKind::Linear, Activation::Sigmoid, 1, true});
    out.push_back({d, 6, 24, 256, 8, HeadKind::Linear, Activation::Softmax, 2, true});
    out.push_back({d, 5, 20, 96, 8, HeadKind::Linear, Activation::Softmax, 2, false});
    out.push_back({d, 5, 20, 100, 8, HeadKind::Linear, Activation::Softmax, 5, true});   // H not a vector multiple
    out.push_back({d, 4, 12, 64, 8, HeadKind::Linear, Activation::Softmax, 40, true});   // large K
    out.push_back({d, 4, 12, 33, 6, HeadKind::Linear, Activation::Sigmoid, 1, true});    // odd H
    out.push_back({d, 6, 16, 500, 8, HeadKind::Logits, Activation::Softmax, 2, false});  // +/- token columns
    out.push_back({d, 6, 16, 500, 8, HeadKind::Logits, Activation::Sigmoid, 1, false});
    out.push_back({d, 4, 10, 300, 6, HeadKind::Logits, Activation::Softmax, 45, false});  // columns past lane 32
    out.push_back({d, 4, 10, 3000, 6, HeadKind::Logits, Activation::Softmax, 0, false});  // whole-row softmax
    out.push_back({d, 3, 8, 1, 4, HeadKind::Logits, Activation::Sigmoid, 0, false});      // H = 1 sigmoid row
    // NaN and infinity propagation
    CaseSpec nan{d, 8, 16, 128, 8, HeadKind::Linear, Activation::Softmax, 2, true};
    nan.nan_rows = 0.2;
    out.push_back(nan);
    CaseSpec inf{d, 8, 16, 200, 8, HeadKind::Logits, Activation::Softmax, 3, false};
    inf.inf_rows = 0.3;
    inf.nan_rows = 0.1;
    out.push_back(inf);
    // edge shapes: no candidates, all chains empty (T = 1 keeps every draw at position 0)
    out.push_back({d, 0, 4, 16, 4, HeadKind::Linear, Activation::Sigmoid, 1, true});
    out.push_back({d, 5, 1, 16, 0, HeadKind::Linear, Activation::Softmax, 2, true});
    // long chains (more than a warp of steps) and big rows (several staging chunks)
    out.push_back({d, 3, 200, 64, 150, HeadKind::Linear, Activation::Softmax, 2, true});
    out.push_back({d, 24, 64, 4096, 40, HeadKind::Linear, Activation::Softmax, 2, true});
  }
  for (int i = 0; i < random_count; ++i) {
    CaseSpec s;
    s.dtype = dtypes[rng.range(0, 2)];
    s.B = rng.range(0, 12);
    s.T = rng.range(1, 40);
    s.H = rng.chance(0.5) ? rng.range(1, 300) : 8 * rng.range(1, 64);
    s.max_steps = static_cast<int>(rng.range(0, 12));
    s.kind = rng.chance(0.6) ? HeadKind::Linear : HeadKind::Logits;
    if (s.kind == HeadKind::Linear) {
      s.activation = rng.chance(0.4) ? Activation::Sigmoid : Activation::Softmax;
      s.K = s.activation == Activation::Sigmoid ? 1 : static_cast<int32_t>(rng.range(2, 12));
      s.bias = rng.chance(0.5);
    } else {
      s.activation = rng.chance(0.3) ? Activation::Sigmoid : Activation::Softmax;
      s.K = s.activation == Activation::Sigmoid ? 1 : static_cast<int32_t>(rng.range(0, 8));
      if (s.K == 0 && s.activation == Activation::Softmax && s.H < 2) s.K = 1;
    }
    s.scale = rng.chance(0.2) ? 8.0 : 1.0;
    s.nan_rows = rng.chance(0.2) ? 0.1 : 0.0;
    out.push_back(s);
  }
  return out;
}

}  // namespace prmtest
