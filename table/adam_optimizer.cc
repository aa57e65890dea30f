#include "table/adam_optimizer.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

namespace psrec::table {

void AdamUpdateRow(float* w, float* m, float* v, float* t, const float* g, int dim, float lr,
                   float beta1, float beta2, float epsilon) {
  using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
  const Eigen::Map<const Eigen::ArrayXf> grad(g, dim);
  const float step = *t + 1.0f;
  *t = step;
  ArrayMap first(m, dim), second(v, dim);
  first = beta1 * first + (1.0f - beta1) * grad;
  second = beta2 * second + (1.0f - beta2) * grad.square();
  // beta^t in double: 1 - beta2^t for beta2 = 0.999 loses most of its digits in float.
  const auto correction = [step](float beta) {
    return static_cast<float>(1.0 - std::pow(static_cast<double>(beta), static_cast<double>(step)));
  };
  const float first_scale = lr / correction(beta1);
  const float second_scale = 1.0f / correction(beta2);
  ArrayMap(w, dim) -= first_scale * first / ((second_scale * second).sqrt() + epsilon);
}

void AdamOptimizer::InitState(const float*, float* state, int dim) const {
  std::fill(state, state + state_floats(dim), 0.0f);
}

}  // namespace psrec::table
