// Argument checks of the kernel contract, shared by every entry point that takes raw
// arrays (the N-API glue, the C++ tests). They run before any work and name the argument.
#pragma once
#include <cstdint>
#include <string>

#include "bce.h"
#include "prmkit.h"

namespace prm {

struct Check {
  enum Kind { kOk = 0, kType, kRange } kind = kOk;
  std::string message;
  explicit operator bool() const { return kind == kOk; }
  static Check type(std::string m) { return {kType, std::move(m)}; }
  static Check range(std::string m) { return {kRange, std::move(m)}; }
};

// dims and the element count of hidden.data
Check check_hidden(int64_t B, int64_t T, int64_t H, int64_t elements);
// offsets [B+1] from 0, non-decreasing, ending at S; positions in [0, T)
Check check_boundaries(const int32_t* offsets, int64_t offsets_len, const int32_t* positions, int64_t S, int64_t B,
                       int64_t T);
// offsets alone (aggregate / firstError / rankGroups)
Check check_offsets(const int32_t* offsets, int64_t offsets_len, int64_t total, const char* name, const char* total_name);
// head against H (= V for a logits head)
Check check_head(const HeadView& head, int64_t H, int64_t weight_len, int64_t bias_len /* -1: none */,
                 int64_t columns_len /* -1: none */);
Check check_threshold(double threshold);
// A BCE call (bce.h): the head (K = 1 sigmoid or K = 2 softmax, positive class, MLP width),
// rows [N, H] with N, H >= 1, one label in [0, 1] per row, params and grad (-1: none) of the
// head's parameter count, finite non-negative class weights.
Check check_bce(const BceHead& head, const BceView& v, int64_t rows_len, int64_t labels_len, int64_t params_len,
                int64_t grad_len, const BceWeights& w);

}  // namespace prm
