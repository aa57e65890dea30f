#include "worker/mf_gradients.h"

#include <algorithm>

#include <Eigen/Core>

namespace psrec::worker {
namespace {

using ConstRow = Eigen::Map<const Eigen::VectorXf>;
using Row = Eigen::Map<Eigen::VectorXf>;

}  // namespace

double AccumulateMfGradients(const MfParams& params, std::span<const uint32_t> user_slot,
                             std::span<const uint32_t> item_slot, std::span<const float> rating,
                             const float* user_rows, const float* item_rows, float* user_grads,
                             float* item_grads) {
  const int k = params.factors;
  const size_t stride = static_cast<size_t>(k) + 1;
  double sse = 0;
  for (size_t i = 0; i < rating.size(); ++i) {
    const float* pu = user_rows + user_slot[i] * stride;
    const float* qi = item_rows + item_slot[i] * stride;
    float* gu = user_grads + user_slot[i] * stride;
    float* gi = item_grads + item_slot[i] * stride;
    ConstRow p(pu, k), q(qi, k);
    const float e = params.global_mean + pu[k] + qi[k] + p.dot(q) - rating[i];
    sse += static_cast<double>(e) * e;
    Row(gu, k).noalias() += e * q + params.l2_factors * p;
    Row(gi, k).noalias() += e * p + params.l2_factors * q;
    gu[k] += e + params.l2_bias * pu[k];
    gi[k] += e + params.l2_bias * qi[k];
  }
  return sse;
}

float PredictMf(const MfParams& params, const float* user_row, const float* item_row, float lo,
                float hi) {
  const int k = params.factors;
  float r = params.global_mean + user_row[k] + item_row[k] +
            ConstRow(user_row, k).dot(ConstRow(item_row, k));
  return std::clamp(r, lo, hi);
}

}  // namespace psrec::worker
