// Adam (Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, Algorithm 1)
// on table rows, with bias correction and the lazy-Adam convention for sparse rows.
//
// A row's state is m[dim], v[dim] and t, its own step count: 2*dim+1 floats after the
// payload. Only pushes that reach a row step it, so the bias correction of a row first
// touched late starts from t = 1 like any new row's (its first step is lr * g / (|g| + eps)
// whatever the other rows did), instead of from a global step count that would make its
// early moments look converged. t is a float so that rows stay all-float on the wire and in
// checkpoints; it counts exactly up to 2^24 (16.7M steps of one row), past which it stays
// put: by then beta^t is 0 in float for any beta below 1 - 1e-6, so the correction is 1.
//
// Under update_mode DELTAS workers step pulled copies and push the change of m, v and t, so
// two workers stepping one row in the same clock add two steps to its t, as they add their
// moment changes.
#pragma once

#include "table/optimizer.h"

namespace psrec::table {

// Adam's constants, with log(beta) taken once: each row's bias correction 1 - beta^t is then
// -expm1(t log(beta)), a third of the cost of pow (bench/table_bench.cc BM_OptimizerRow)
// and exact where beta^t is near 1.
struct AdamRates {
  // REQUIRES: 0 <= beta1, beta2 < 1; epsilon > 0 (config validation enforces them).
  AdamRates(float beta1, float beta2, float epsilon);
  float beta1;
  float beta2;
  float epsilon;
  double log_beta1;  // -inf for beta 0: no correction needed, and -expm1(-inf) is 1
  double log_beta2;
};

// One Adam step of row w by gradient g:
//   t += 1; m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
//   w -= lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon).
// REQUIRES: w, m, v, g hold dim floats; t points at the row's step count.
void AdamUpdateRow(float* w, float* m, float* v, float* t, const float* g, int dim, float lr,
                   const AdamRates& rates);

class AdamOptimizer final : public Optimizer {
 public:
  // REQUIRES: 0 <= beta1, beta2 < 1; epsilon > 0 (config validation enforces them).
  AdamOptimizer(float beta1, float beta2, float epsilon) : rates_(beta1, beta2, epsilon) {}
  // m, v, then t.
  int state_floats(int dim) const override { return 2 * dim + 1; }
  void InitState(const float* w, float* state, int dim) const override;
  void UpdateRow(float* w, float* state, const float* g, int dim, float lr) const override {
    AdamUpdateRow(w, state, state + dim, state + 2 * dim, g, dim, lr, rates_);
  }
  const char* name() const override { return "adam"; }
  config::OptimizerConfig::Kind kind() const override { return config::OptimizerConfig::ADAM; }

 private:
  AdamRates rates_;
};

}  // namespace psrec::table
