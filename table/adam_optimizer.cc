#include "table/adam_optimizer.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

namespace psrec::table {

AdamRates::AdamRates(float beta1_in, float beta2_in, float epsilon_in)
    : beta1(beta1_in),
      beta2(beta2_in),
      epsilon(epsilon_in),
      log_beta1(std::log(static_cast<double>(beta1_in))),
      log_beta2(std::log(static_cast<double>(beta2_in))) {}

void AdamUpdateRow(float* w, float* m, float* v, float* t, const float* g, int dim, float lr,
                   const AdamRates& rates) {
  using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
  const Eigen::Map<const Eigen::ArrayXf> grad(g, dim);
  const float step = *t + 1.0f;
  *t = step;
  ArrayMap first(m, dim), second(v, dim);
  first = rates.beta1 * first + (1.0f - rates.beta1) * grad;
  second = rates.beta2 * second + (1.0f - rates.beta2) * grad.square();
  // 1 - beta^t in double: for beta2 = 0.999 float would lose most of its digits.
  const double correction1 = -std::expm1(step * rates.log_beta1);
  const double correction2 = -std::expm1(step * rates.log_beta2);
  const auto first_scale = static_cast<float>(lr / correction1);
  const auto second_scale = static_cast<float>(1.0 / correction2);
  ArrayMap(w, dim) -= first_scale * first / ((second_scale * second).sqrt() + rates.epsilon);
}

void AdamOptimizer::InitState(const float*, float* state, int dim) const {
  std::fill(state, state + state_floats(dim), 0.0f);
}

}  // namespace psrec::table
