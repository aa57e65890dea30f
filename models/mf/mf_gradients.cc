#include "models/mf/mf_gradients.h"

#include <algorithm>

#include <Eigen/Core>

namespace psrec::models {
namespace {

using ConstRow = Eigen::Map<const Eigen::VectorXf>;
using Row = Eigen::Map<Eigen::VectorXf>;

constexpr size_t kPrefetchAhead = 6;

void PrefetchRow(const float* row, size_t floats) {
  const char* bytes = reinterpret_cast<const char*>(row);
  for (size_t offset = 0; offset < floats * sizeof(float); offset += 64) {
    __builtin_prefetch(bytes + offset);
  }
}

// UserRow(slot) gives the address of a user slot's row: contiguous or by pointer.
template <typename UserRow>
double Accumulate(const MfParams& params, std::span<const uint32_t> user_slot,
                  std::span<const uint32_t> item_slot, std::span<const float> rating,
                  UserRow user_row, const float* item_rows, float* user_grads,
                  float* item_grads) {
  const int k = params.factors;
  const size_t stride = static_cast<size_t>(k) + 1;
  double sse = 0;
  const size_t n = rating.size();
  for (size_t i = 0; i < n; ++i) {
    // Rows of a shuffled batch are cache misses; fetch a few ratings ahead.
    if (i + kPrefetchAhead < n) {
      PrefetchRow(user_row(user_slot[i + kPrefetchAhead]), stride);
      PrefetchRow(item_rows + item_slot[i + kPrefetchAhead] * stride, stride);
    }
    const float* pu = user_row(user_slot[i]);
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

}  // namespace

double AccumulateMfGradients(const MfParams& params, std::span<const uint32_t> user_slot,
                             std::span<const uint32_t> item_slot, std::span<const float> rating,
                             const float* user_rows, const float* item_rows, float* user_grads,
                             float* item_grads) {
  const size_t stride = static_cast<size_t>(params.factors) + 1;
  return Accumulate(
      params, user_slot, item_slot, rating,
      [user_rows, stride](uint32_t slot) { return user_rows + slot * stride; }, item_rows,
      user_grads, item_grads);
}

double AccumulateMfGradients(const MfParams& params, std::span<const uint32_t> user_slot,
                             std::span<const uint32_t> item_slot, std::span<const float> rating,
                             const float* const* user_rows, const float* item_rows,
                             float* user_grads, float* item_grads) {
  return Accumulate(
      params, user_slot, item_slot, rating,
      [user_rows](uint32_t slot) { return user_rows[slot]; }, item_rows, user_grads,
      item_grads);
}

float PredictMf(const MfParams& params, const float* user_row, const float* item_row, float lo,
                float hi) {
  const int k = params.factors;
  float r = params.global_mean + user_row[k] + item_row[k] +
            ConstRow(user_row, k).dot(ConstRow(item_row, k));
  return std::clamp(r, lo, hi);
}

}  // namespace psrec::models
