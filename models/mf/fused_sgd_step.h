// FusedSgdStep: biased MF's per-rating step (models/mf/biased_mf.h) when both tables use
// plain SGD, fused: each rating loads its user row and item row once, computes the
// prediction error, both gradients and both updates in vector registers, and stores each
// row once. The unfused step walks the rows three times (dot product, gradients into
// scratch, update) and adds the bias terms in between.
//
// Same maths as the unfused step up to float rounding: the dot product sums its k products
// in another order, and the AVX2 / AVX-512 versions round each a * b + c once (FMA). Per
// rating, a row then differs from the unfused result by a few ulp; over a batch that revisits
// rows the differences stay at float rounding (tests/models/fused_sgd_step_test.cc).
//
// The kernel is compiled for three instruction sets and chosen at run time (StepIsa), so a
// portable x86-64 build runs the AVX-512 version on a CPU that has it: GCC generic vectors of
// 16 floats become one zmm, two ymm or four xmm registers. Compiled for k = 16, 32 and 64
// factors (rows of k + 1 floats: the factors, then the bias); FusedSgdSupports says which.
// Rows may sit at any float offset (pulled copies are 33 floats apart for k = 32).
//
// Thread safety: a pure function of its arguments; concurrent calls on disjoint rows are safe.
#pragma once

#include <string_view>

#include "models/model.h"

namespace psrec::models::mf {

// The instruction sets the kernel is compiled for, narrowest first.
enum class StepIsa {
  kPortable,  // x86-64 baseline (SSE2): what every x86-64 CPU runs
  kAvx2,      // x86-64-v3: AVX2 and FMA
  kAvx512,    // x86-64-v4: AVX-512 F/BW/CD/DQ/VL
};

std::string_view StepIsaName(StepIsa isa);  // "portable", "AVX2", "AVX-512"
// Whether this CPU runs `isa`.
bool CpuRuns(StepIsa isa);
// The widest set this CPU runs, at most `limit`.
StepIsa WidestStepIsa(StepIsa limit = StepIsa::kAvx512);

struct FusedSgdTerms {
  int factors = 0;
  float global_mean = 0;
  float l2_factors = 0;
  float l2_bias = 0;
  float user_learning_rate = 0;
  float item_learning_rate = 0;
};

// Whether the kernel is compiled for `factors` factors per row.
bool FusedSgdSupports(int factors);

// Steps each example of `batch` in order (each sees the steps of those before it):
//   e = global_mean + b_u + b_i + p_u . q_i - label
//   p_u -= user_lr (e q_i + l2_factors p_u)    b_u -= user_lr (e + l2_bias b_u)
//   q_i -= item_lr (e p_u + l2_factors q_i)    b_i -= item_lr (e + l2_bias b_i)
// with both gradients taken from the rows before either step. Returns the sum of e^2.
// batch.fields[0] finds the user rows, fields[1] the item rows (by stride or by address);
// batch.steppers is not read (the learning rates come in `terms`).
// REQUIRES: FusedSgdSupports(terms.factors), CpuRuns(isa), batch.fields.size() == 2, and
// every row holds terms.factors + 1 floats.
double FusedSgdStep(StepIsa isa, const FusedSgdTerms& terms, const ExampleBatch& batch);

}  // namespace psrec::models::mf
