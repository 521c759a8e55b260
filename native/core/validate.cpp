#include "validate.h"

#include <cmath>

namespace prm {

static std::string s(int64_t v) { return std::to_string(v); }

Check check_hidden(int64_t B, int64_t T, int64_t H, int64_t elements) {
  if (B < 0 || T < 0 || H < 0) return Check::range("hidden.dims must be non-negative integers [B, T, H]");
  if (H == 0 && B > 0 && T > 0) return Check::range("hidden.dims: H must be at least 1");
  const double product = static_cast<double>(B) * static_cast<double>(T) * static_cast<double>(H);
  if (product != static_cast<double>(elements))
    return Check::range("hidden.data has " + s(elements) + " elements but hidden.dims [" + s(B) + ", " + s(T) +
                        ", " + s(H) + "] need " + s(B * T * H));
  return {};
}

Check check_offsets(const int32_t* offsets, int64_t len, int64_t total, const char* name, const char* total_name) {
  const std::string n(name);
  if (len < 1) return Check::range(n + " must have at least one entry (length B + 1)");
  if (offsets[0] != 0) return Check::range(n + "[0] must be 0, got " + s(offsets[0]));
  for (int64_t i = 1; i < len; ++i)
    if (offsets[i] < offsets[i - 1])
      return Check::range(n + " must be non-decreasing: " + n + "[" + s(i) + "] = " + s(offsets[i]) + " < " + n +
                          "[" + s(i - 1) + "] = " + s(offsets[i - 1]));
  if (offsets[len - 1] != total)
    return Check::range(n + "[" + s(len - 1) + "] must equal " + total_name + " (" + s(total) + "), got " +
                        s(offsets[len - 1]));
  return {};
}

Check check_boundaries(const int32_t* offsets, int64_t offsets_len, const int32_t* positions, int64_t S, int64_t B,
                       int64_t T) {
  if (offsets_len != B + 1)
    return Check::range("boundaries.offsets must have length B + 1 = " + s(B + 1) + ", got " + s(offsets_len));
  Check c = check_offsets(offsets, offsets_len, S, "boundaries.offsets", "boundaries.positions.length");
  if (!c) return c;
  for (int64_t b = 0; b < B; ++b)
    for (int32_t i = offsets[b]; i < offsets[b + 1]; ++i)
      if (positions[i] < 0 || positions[i] >= T)
        return Check::range("boundaries.positions[" + s(i) + "] = " + s(positions[i]) + " (candidate " + s(b) +
                            ") is outside [0, T = " + s(T) + ")");
  return {};
}

Check check_head(const HeadView& head, int64_t H, int64_t weight_len, int64_t bias_len, int64_t columns_len) {
  const int64_t K = head.K;
  if (head.kind == HeadKind::Linear) {
    if (K < 1 || K > kMaxLinearOutputs)
      return Check::range("head.outputs must be in [1, " + s(kMaxLinearOutputs) + "], got " + s(K));
    if (weight_len != K * H)
      return Check::range("head.weight has length " + s(weight_len) + " but outputs x H = " + s(K) + " x " + s(H) +
                          " = " + s(K * H));
    if (bias_len >= 0 && bias_len != K)
      return Check::range("head.bias has length " + s(bias_len) + " but head.outputs is " + s(K));
  } else {
    if (columns_len >= 0) {
      if (columns_len < 1 || columns_len > kMaxLinearOutputs)
        return Check::range("head.columns must hold 1 to " + s(kMaxLinearOutputs) + " column indices, got " +
                            s(columns_len));
      for (int64_t k = 0; k < columns_len; ++k)
        if (head.columns[k] < 0 || head.columns[k] >= H)
          return Check::range("head.columns[" + s(k) + "] = " + s(head.columns[k]) + " is outside [0, V = " + s(H) +
                              ")");
    }
  }
  if (head.activation == Activation::Sigmoid && K != 1)
    return Check::range("a sigmoid head needs exactly 1 output, got " + s(K) +
                        (head.kind == HeadKind::Logits ? " (pick one column with head.columns)" : ""));
  if (head.positive < 0 || head.positive >= K)
    return Check::range("head.positive = " + s(head.positive) + " is outside [0, K = " + s(K) + ")");
  return {};
}

Check check_threshold(double t) {
  if (!(t > 0.0 && t < 1.0)) return Check::range("errorThreshold must be in (0, 1), got " + std::to_string(t));
  return {};
}

Check check_bce(const BceHead& head, const BceView& v, int64_t rows_len, int64_t labels_len, int64_t params_len,
                int64_t grad_len, const BceWeights& w) {
  if (head.kind == TrainHeadKind::Mlp && (head.M < 1 || head.M > kMaxMlpHidden))
    return Check::range("head.hidden must be an integer in [1, " + s(kMaxMlpHidden) + "], got " + s(head.M));
  if (head.activation == Activation::Sigmoid && head.K != 1)
    return Check::range("a sigmoid head needs exactly 1 output, got " + s(head.K));
  if (head.activation == Activation::Softmax && head.K != 2)
    return Check::range("a softmax head trained with BCE has exactly 2 outputs, got " + s(head.K));
  if (head.positive < 0 || head.positive >= head.K)
    return Check::range("head.positive = " + s(head.positive) + " is outside [0, K = " + s(head.K) + ")");
  if (v.N < 1 || v.H < 1)
    return Check::range("rows.dims must be [N, H] with N, H >= 1, got [" + s(v.N) + ", " + s(v.H) + "]");
  if (static_cast<double>(v.N) * static_cast<double>(v.H) != static_cast<double>(rows_len))
    return Check::range("rows.data has " + s(rows_len) + " elements but rows.dims [" + s(v.N) + ", " + s(v.H) +
                        "] need " + s(v.N * v.H));
  if (labels_len != v.N) return Check::range("labels has length " + s(labels_len) + " but there are " + s(v.N) + " rows");
  for (int64_t i = 0; i < v.N; ++i)
    if (!(v.labels[i] >= 0.0f && v.labels[i] <= 1.0f))
      return Check::range("labels[" + s(i) + "] = " + std::to_string(v.labels[i]) + " is outside [0, 1]");
  const int64_t P = bce_param_count(head, v.H);
  if (params_len != P) return Check::range("params has length " + s(params_len) + " but the head has " + s(P) + " parameters");
  if (grad_len >= 0 && grad_len != P)
    return Check::range("gradient has length " + s(grad_len) + " but the head has " + s(P) + " parameters");
  if (!(std::isfinite(w.positive) && w.positive >= 0 && std::isfinite(w.negative) && w.negative >= 0))
    return Check::range("classWeights must be finite numbers >= 0");
  return {};
}

}  // namespace prm
