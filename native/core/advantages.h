// GRPO advantages from step rewards, over flat ragged arrays (the same CSR style as the
// scoring kernels): groups own responses, responses own steps and tokens. The output is
// one advantage per policy token, responses laid end to end.
#pragma once
#include <cstddef>
#include <cstdint>

#include "validate.h"

namespace prm {

enum class AdvantageMode : int32_t {
  // every step reward normalized by its group's step rewards; a token gets the sum of the
  // normalized rewards of the steps ending at or after it (DeepSeekMath, process supervision)
  Process = 0,
  // each response's last step reward normalized within its group; every token gets it
  Outcome = 1,
};
enum class StdKind : int32_t { Sample = 0, Population = 1 };

// Plain pointers and sizes only (no allocation, no host-only types), so a device version can
// take the same view over device memory; only the cpu kernel exists.
struct AdvantageView {
  const float* step_rewards;        // [S]
  const int32_t* step_offsets;      // [R + 1]: response r owns steps step_offsets[r] .. step_offsets[r+1]-1
  const int32_t* response_offsets;  // [G + 1]: group g owns responses response_offsets[g] .. [g+1]-1
  const int32_t* step_ends;         // [S]: token index (within its response) where the step ends
  const int32_t* response_tokens;   // [R]: policy tokens of each response
  int64_t S, R, G;
};

struct AdvantageOptions {
  AdvantageMode mode = AdvantageMode::Process;
  StdKind std_kind = StdKind::Sample;
  float eps = 1e-6f;  // added to the standard deviation
};

// Shapes and indices: offsets well formed, step ends inside their response and in order,
// out_len = sum of response_tokens. Lengths are element counts of the caller's arrays.
Check check_advantages(const AdvantageView& v, int64_t step_offsets_len, int64_t response_offsets_len,
                       int64_t step_ends_len, int64_t response_tokens_len, int64_t out_len, double eps);

// out [sum of response_tokens]. A group whose rewards are all equal gives zeros; a NaN reward
// makes its own group's statistics NaN and no other group's. threads <= 0: all pool threads.
void advantages_cpu(const AdvantageView& v, const AdvantageOptions& o, float* out, int threads);

// Writes `bytes` bytes of `data` with the given threads: the write side of the roofline
// the benchmark compares the advantages kernel against.
void write_bytes_cpu(void* data, size_t bytes, int threads);

}  // namespace prm
