// Binary cross-entropy of a small head over gathered boundary rows, and its gradient: the
// native half of head training. One row per labelled step (or per solution, for an outcome
// head), its label the probability that the step is correct: 0 or 1, or a soft Monte-Carlo
// estimate in between. Regularization (L2, weight decay) is the optimizer's business.
#pragma once
#include <cstdint>

#include "prmkit.h"

namespace prm {

enum class TrainHeadKind : int32_t {
  Linear = 0,  // z = W x + b
  Mlp = 1,     // z = W2 relu(W1 x + b1) + b2 (the Qwen-style score head: Linear(H, M), ReLU, Linear(M, K))
};

// K = 1 with a sigmoid (P(correct) = sigmoid(z), positive = 0), or K = 2 with a softmax over
// the two classes (P(correct) = softmax(z)[positive]).
struct BceHead {
  TrainHeadKind kind;
  Activation activation;
  int32_t K;
  int32_t positive;
  int64_t M;  // Mlp: width of the hidden layer; 0 for Linear
};

constexpr int64_t kMaxMlpHidden = 1 << 16;

struct BceView {
  const float* rows;    // [N, H] row-major
  const float* labels;  // [N], each in [0, 1]
  int64_t N, H;
};

// The loss of row i is -(positive * y log p + negative * (1 - y) log(1 - p)), p = P(correct).
struct BceWeights {
  double positive = 1.0;
  double negative = 1.0;
};

// Flat float32 parameters, in this order:
//   Linear: W [K, H], b [K]
//   Mlp:    W1 [M, H], b1 [M], W2 [K, M], b2 [K]
// (PyTorch's nn.Linear weight layout, [out, in]).
int64_t bce_param_count(const BceHead& head, int64_t H);

// The mean loss over the N rows; `grad` (null: loss only) receives its gradient with respect
// to `params`, in their layout. Sums are taken in double, over a partition of the rows that
// depends on N alone, so the result is the same bit for bit whatever the thread count.
// Callers check the arguments first (check_bce, validate.h).
double bce_cpu(const BceView& v, const BceHead& head, const float* params, const BceWeights& w, float* grad,
               int threads);

}  // namespace prm
