// FTRL-Proximal (McMahan et al., "Ad Click Prediction: a View from the Trenches", KDD 2013,
// Algorithm 1), per coordinate, on table rows.
//
// A row's state is z[dim] and n[dim] after the payload; the payload w is a function of them,
// recomputed for the whole row on every update:
//   w = 0                                                        if |z| <= l1,
//   w = -(z - sign(z) l1) / ((beta + sqrt(n)) / alpha + l2)      otherwise.
// alpha is the table's learning_rate. FTRL's schedule is its own per-coordinate rate
// alpha / (beta + sqrt(n)), so config validation asks for lr_decay 1: the rate each push
// passes (learning_rate * 1^epoch) is then the alpha the optimizer was built with, and
// UpdateRow ignores its lr argument so that InitState, z, n and w agree on one alpha.
//
// New rows: the table's initializer gives w0 (random factors, zero biases), and FTRL's w is
// a function of z. InitState sets n = 0 and z to the value for which the formula above gives
// w0 at n = 0:  z = -(beta / alpha + l2) w0 - sign(w0) l1  (z = 0 where w0 = 0). That is the
// algorithm started with a proximal term (beta / 2 alpha) |w - w0|^2 centred on the initial
// value rather than on 0, so rows keep their random start (matrix factorization with every
// factor 0 has zero gradients) and the first step of a coordinate with l1 = l2 = 0 is
// w0 - alpha g / (beta + |g|): a step from w0, as any other optimizer's first step. With
// beta = 0 and l2 = 0 nothing anchors w0: the first update of a coordinate whose gradient
// is 0 sets it to 0.
//
// Under update_mode DELTAS the z and n changes of two workers add exactly (FTRL's state is a
// sum over gradients); their w changes add as for any optimizer, and the next update of the
// row recomputes w from the summed z and n.
#pragma once

#include "table/optimizer.h"

namespace psrec::table {

// One FTRL-Proximal step of row w by gradient g, per coordinate i:
//   sigma = (sqrt(n + g^2) - sqrt(n)) / alpha;  z += g - sigma w;  n += g^2;
//   then w from z and n as above.
// REQUIRES: w, z, n, g hold dim floats; alpha > 0; beta, l1, l2 >= 0.
void FtrlUpdateRow(float* w, float* z, float* n, const float* g, int dim, float alpha,
                   float beta, float l1, float l2);

class FtrlOptimizer final : public Optimizer {
 public:
  // REQUIRES: alpha > 0; beta, l1, l2 >= 0 (config validation enforces them).
  FtrlOptimizer(float alpha, float beta, float l1, float l2)
      : alpha_(alpha), beta_(beta), l1_(l1), l2_(l2) {}
  // z, then n.
  int state_floats(int dim) const override { return 2 * dim; }
  // z from the initial payload w (see above), n = 0.
  void InitState(const float* w, float* state, int dim) const override;
  // lr is not read: alpha is the learning rate the optimizer was built with (see above).
  void UpdateRow(float* w, float* state, const float* g, int dim, float /*lr*/) const override {
    FtrlUpdateRow(w, state, state + dim, g, dim, alpha_, beta_, l1_, l2_);
  }
  const char* name() const override { return "ftrl"; }
  config::OptimizerConfig::Kind kind() const override { return config::OptimizerConfig::FTRL; }

 private:
  float alpha_;
  float beta_;
  float l1_;
  float l2_;
};

}  // namespace psrec::table
