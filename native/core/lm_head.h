// log P(target | row) under a language model's head, for chosen rows of hidden states,
// without ever holding a [rows x vocabulary] logits matrix: the head's rows are streamed in
// tiles, each tile's logits live only in a small scratch buffer, and every row keeps a
// running log-sum-exp (online softmax). What an implicit PRM reads (the log-probability of
// each realised next token under two LMs) and what a next-token PRM reads (P("Y") over the
// whole vocabulary) are both this one call.
#pragma once
#include <cstdint>

#include "prmkit.h"
#include "validate.h"

namespace prm {

struct LmHeadView {
  const void* weight;  // [V, H] row-major (the checkpoint's lm_head / tied embedding layout)
  Dtype dtype;
  int64_t V, H;
};

// out[n] = log softmax(W h_{rows[n]})[targets[n]] for n in [0, N). rows index the flattened
// [B * T] rows of `hidden`. A row with a non-finite logit gives NaN.
void token_log_probs_cpu(const HiddenView& hidden, const int32_t* rows, const int32_t* targets, int64_t N,
                         const LmHeadView& head, float* out, int threads);

// The argument checks, before any work (shapes, then every row and target index).
Check check_token_log_probs(const HiddenView& hidden, const LmHeadView& head, int64_t weight_len, const int32_t* rows,
                            int64_t rows_len, const int32_t* targets, int64_t targets_len, int64_t out_len);

// One instruction set's part of the kernel (lm_head.cpp drives the tiling and threads).
struct LmHeadKernels {
  const char* name;
  int rt;  // hidden rows per register block
  int rv;  // head rows (vocabulary entries) per register block
  // C[r * ldc + j] = dot(X[r * H ..], Wt[.. j]) for r < rt, j < rv, where Wt is a transposed
  // tile: Wt[k * ldw + j] holds head row j's element k.
  void (*panel)(const float* X, int64_t H, const float* Wt, int64_t ldw, float* C, int64_t ldc);
  // max(x[0..n)), and sum of exp(x[i] - m) over i < n.
  float (*max)(const float* x, int64_t n);
  float (*sum_exp)(const float* x, int64_t n, float m);
};

const LmHeadKernels& scalar_lm_head_kernels();
const LmHeadKernels* avx2_lm_head_kernels();    // null when this build has no AVX2 variant
const LmHeadKernels* avx512_lm_head_kernels();  // null when this build has no AVX-512 variant
// The variant for this cpu, chosen once: AVX-512F, else AVX2+FMA(+F16C), else portable;
// PRMKIT_SIMD=scalar forces the portable one.
const LmHeadKernels& lm_head_kernels();

}  // namespace prm
