// Random kernel inputs: ragged and empty chains, every dtype, every head kind, optional NaN
// and infinity injection. A Case owns its arrays and hands out the core's views.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../../native/core/prmkit.h"
#include "harness.h"

namespace prmtest {

struct CaseSpec {
  prm::Dtype dtype = prm::Dtype::F32;
  int64_t B = 4, T = 16, H = 64;
  int max_steps = 6;       // steps per chain drawn from [0, max_steps]
  prm::HeadKind kind = prm::HeadKind::Linear;
  prm::Activation activation = prm::Activation::Softmax;
  int32_t K = 2;           // linear outputs, or number of logits columns (0 = whole row)
  bool bias = true;
  double scale = 1.0;      // spread of the hidden values
  double nan_rows = 0.0;   // fraction of boundary rows given a NaN
  double inf_rows = 0.0;   // fraction of boundary rows given a +-inf (logits heads)
};

struct Case {
  CaseSpec spec;
  std::vector<float> f32;      // hidden, float32
  std::vector<uint16_t> u16;   // hidden, 16-bit bit patterns
  std::vector<int32_t> offsets, positions;
  std::vector<float> weight, bias;
  std::vector<int32_t> columns;
  float threshold = 0.5f;

  prm::HiddenView hidden() const;
  prm::BoundariesView bounds() const;
  prm::HeadView head() const;
  int64_t S() const { return static_cast<int64_t>(positions.size()); }
  float value(int64_t b, int64_t t, int64_t h) const;  // element as float32
  std::string describe() const;
};

Case make_case(Rng& rng, const CaseSpec& spec);
// A spread of specs covering the contract (dtypes x heads x shapes x edge cases).
std::vector<CaseSpec> standard_specs(Rng& rng, int random_count);

// Outputs with every slot allocated, filled with a poison pattern before each run so a
// kernel that skips a write is caught.
struct Outputs {
  std::vector<float> lp;
  std::vector<float> agg[prm::kNumAggregations];
  std::vector<int32_t> fe;
  Outputs(int64_t S, int64_t B);
  void poison();
  prm::ScoreOut view();
};

constexpr uint32_t kPoisonBits = 0x7fbadbadu;  // a NaN no kernel produces
bool is_poison(float v);

}  // namespace prmtest
