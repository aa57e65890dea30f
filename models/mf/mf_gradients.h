// The biased matrix-factorization kernel: r^ = mu + b_u + b_i + p_u . q_i.
//
// Row layout (user and item tables alike): `factors` floats, then the bias, so a row has
// factors + 1 floats. Gradients of the squared loss 1/2 (r^ - r)^2 with L2 in the gradient:
//   e = r^ - r
//   g(p_u) += e q_i + l2_factors p_u       g(b_u) += e + l2_bias b_u
//   g(q_i) += e p_u + l2_factors q_i       g(b_i) += e + l2_bias b_i
// summed per unique row over the batch (a row seen n times gets n terms, as in sequential SGD).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

namespace psrec::models {

struct MfParams {
  int factors = 0;
  float global_mean = 0;
  float l2_factors = 0;
  float l2_bias = 0;
};

// Accumulates gradients into user_grads / item_grads (which the caller zeroes) for the
// ratings given by slots into user_rows / item_rows. Returns the sum of squared errors.
double AccumulateMfGradients(const MfParams& params, std::span<const uint32_t> user_slot,
                             std::span<const uint32_t> item_slot, std::span<const float> rating,
                             const float* user_rows, const float* item_rows, float* user_grads,
                             float* item_grads);

// The same with user rows given by address, one per user slot (rows updated in place: LOCAL
// user tables).
double AccumulateMfGradients(const MfParams& params, std::span<const uint32_t> user_slot,
                             std::span<const uint32_t> item_slot, std::span<const float> rating,
                             const float* const* user_rows, const float* item_rows,
                             float* user_grads, float* item_grads);

// Prediction for one user row and one item row, clipped to [lo, hi].
float PredictMf(const MfParams& params, const float* user_row, const float* item_row, float lo,
                float hi);

}  // namespace psrec::models
