#include "table/ftrl_optimizer.h"

#include <algorithm>

#include <Eigen/Core>

namespace psrec::table {

void FtrlUpdateRow(float* w, float* z, float* n, const float* g, int dim, float alpha,
                   float beta, float l1, float l2) {
  // Three vectorized passes over the row and no temporaries: allocating arrays for the
  // intermediate n and sqrt(n) cost more than the arithmetic on a ~33-float row, and a plain
  // loop stays scalar (std::sqrt sets errno).
  using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
  const Eigen::Map<const Eigen::ArrayXf> grad(g, dim);
  ArrayMap weights(w, dim), zs(z, dim), ns(n, dim);
  zs += grad - ((ns + grad.square()).sqrt() - ns.sqrt()) / alpha * weights;
  ns += grad.square();
  // Both sides of the select are evaluated: where |z| <= l1 the other side may divide by 0
  // (beta = l2 = 0 and n = 0), and is discarded.
  weights = (zs.abs() <= l1)
                .select(0.0f, -(zs - zs.sign() * l1) / ((beta + ns.sqrt()) / alpha + l2));
}

void FtrlOptimizer::InitState(const float* w, float* state, int dim) const {
  const Eigen::Map<const Eigen::ArrayXf> initial(w, dim);
  Eigen::Map<Eigen::ArrayXf>(state, dim) =
      -(beta_ / alpha_ + l2_) * initial - initial.sign() * l1_;
  std::fill(state + dim, state + 2 * dim, 0.0f);
}

}  // namespace psrec::table
