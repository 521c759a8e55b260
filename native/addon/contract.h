// The binding contract with lib/kernels/binding.ts: the names JS passes for each enum (the
// C++ enums' integer values never cross the boundary), and the contract's version, which the
// JS side compares at load so a stale binary gives one clear error.
#pragma once
#include <cstdint>
#include <string>

#include "../core/prmkit.h"

namespace prm_addon {

// Raise with every change to an argument object, an enum name or an entry point.
constexpr int32_t kBindingVersion = 6;

constexpr const char* kDtypeNames[] = {"float32", "float16", "bfloat16"};
constexpr const char* kHeadKindNames[] = {"linear", "logits"};
constexpr const char* kActivationNames[] = {"sigmoid", "softmax"};
// In the order of prm::Aggregation (ScoreOut::aggregates).
constexpr const char* kAggregationNames[prm::kNumAggregations] = {"prod", "min", "last", "mean", "geomean"};
// In the order of prm::AdvantageMode and prm::StdKind (core/advantages.h).
constexpr const char* kAdvantageModeNames[] = {"process", "outcome"};
constexpr const char* kStdKindNames[] = {"sample", "population"};
// In the order of prm::TrainHeadKind (core/bce.h).
constexpr const char* kTrainHeadKindNames[] = {"linear", "mlp"};

template <size_t N>
int name_index(const char* const (&names)[N], const std::string& s) {
  for (size_t i = 0; i < N; ++i)
    if (s == names[i]) return static_cast<int>(i);
  return -1;
}

template <size_t N>
std::string name_list(const char* const (&names)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += (i ? ", '" : "'") + std::string(names[i]) + "'";
  return out;
}

}  // namespace prm_addon
