#include "table/ftrl_optimizer.h"

#include <algorithm>

#include <Eigen/Core>

namespace psrec::table {

void FtrlUpdateRow(float* w, float* z, float* n, const float* g, int dim, float alpha,
                   float beta, float l1, float l2) {
  using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
  const Eigen::Map<const Eigen::ArrayXf> grad(g, dim);
  ArrayMap weights(w, dim), zs(z, dim), ns(n, dim);
  const Eigen::ArrayXf n_next = ns + grad.square();
  const Eigen::ArrayXf root_next = n_next.sqrt();
  zs += grad - (root_next - ns.sqrt()) / alpha * weights;
  ns = n_next;
  // Both sides of the select are evaluated: where |z| <= l1 the other side may divide by 0
  // (beta = l2 = 0 and n = 0), and is discarded.
  const Eigen::ArrayXf shrunk = zs - zs.sign() * l1;
  weights = (zs.abs() <= l1).select(0.0f, -shrunk / ((beta + root_next) / alpha + l2));
}

void FtrlOptimizer::InitState(const float* w, float* state, int dim) const {
  const Eigen::Map<const Eigen::ArrayXf> initial(w, dim);
  Eigen::Map<Eigen::ArrayXf>(state, dim) =
      -(beta_ / alpha_ + l2_) * initial - initial.sign() * l1_;
  std::fill(state + dim, state + 2 * dim, 0.0f);
}

}  // namespace psrec::table
