// The biased-MF kernels' tests call BiasedMf through its Model interface with the argument
// shapes the trainer's update modes use: rows by slot, LOCAL rows by address or by dense
// index read from packed ratings. One adapter per shape, so every addressing is exercised.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "data/packed_rating.h"
#include "models/mf/biased_mf.h"

namespace psrec::models {

struct MfParams {
  int factors = 0;
  float global_mean = 0;
  float l2_factors = 0;
  float l2_bias = 0;
};
using RowStep = RowStepper;

inline BiasedMf MakeMf(const MfParams& p) {
  config::ModelConfig config;
  config.set_dim(p.factors);
  config.set_l2_factors(p.l2_factors);
  config.set_l2_bias(p.l2_bias);
  BiasedMf mf(config);
  CHECK(mf.RestoreScalars({{"global_mean", p.global_mean}}).ok());
  return mf;
}

inline double AccumulateMfGradients(const MfParams& p, std::span<const uint32_t> user_slot,
                                    std::span<const uint32_t> item_slot,
                                    std::span<const float> rating, const float* user_rows,
                                    const float* item_rows, float* user_grads,
                                    float* item_grads) {
  const size_t dim = static_cast<size_t>(p.factors) + 1;
  RowLookup fields[2];
  fields[0] = {const_cast<float*>(user_rows), nullptr, dim, user_slot.data(), 1, user_grads};
  fields[1] = {const_cast<float*>(item_rows), nullptr, dim, item_slot.data(), 1, item_grads};
  ExampleBatch batch{rating.size(), rating.data(), 1, fields, {}, {}};
  return MakeMf(p).AccumulateGradients(batch);
}

inline float PredictMf(const MfParams& p, const float* user_row, const float* item_row,
                       float lo, float hi) {
  const float* rows[2] = {user_row, item_row};
  return std::clamp(MakeMf(p).Score(rows), lo, hi);
}

// REMOTE users: pulled copies by slot, ratings as values.
inline double StepMfRatings(const MfParams& p, const RowStep& users, const RowStep& items,
                            float* user_rows, std::span<const uint32_t> user_slot,
                            std::span<const uint32_t> item_slot, std::span<const float> rating,
                            float* item_rows, std::vector<float>* scratch) {
  const size_t dim = static_cast<size_t>(p.factors) + 1;
  RowLookup fields[2];
  fields[0] = {user_rows, nullptr, dim + users.state_floats, user_slot.data(), 1, nullptr};
  fields[1] = {item_rows, nullptr, dim + items.state_floats, item_slot.data(), 1, nullptr};
  const RowStepper steppers[2] = {users, items};
  ExampleBatch batch{rating.size(), rating.data(), 1, fields, steppers, {}};
  return MakeMf(p).Step(batch, scratch);
}

// LOCAL users by address, found by the dense user index of packed ratings.
inline double StepMfRatings(const MfParams& p, const RowStep& users, const RowStep& items,
                            std::span<float* const> user_row_by_dense,
                            std::span<const data::PackedRating> ratings,
                            std::span<const uint32_t> item_slot, float* item_rows,
                            std::vector<float>* scratch) {
  const size_t dim = static_cast<size_t>(p.factors) + 1;
  constexpr size_t kStride = sizeof(data::PackedRating) / sizeof(uint32_t);
  RowLookup fields[2];
  fields[0] = {nullptr, user_row_by_dense.data(), 0, &ratings.data()->user, kStride, nullptr};
  fields[1] = {item_rows, nullptr, dim + items.state_floats, item_slot.data(), 1, nullptr};
  const RowStepper steppers[2] = {users, items};
  ExampleBatch batch{ratings.size(), &ratings.data()->rating, kStride, fields, steppers, {}};
  return MakeMf(p).Step(batch, scratch);
}

// LOCAL users in one array, by the dense user index of packed ratings.
inline double StepMfRatings(const MfParams& p, const RowStep& users, const RowStep& items,
                            float* user_rows, std::span<const data::PackedRating> ratings,
                            std::span<const uint32_t> item_slot, float* item_rows,
                            std::vector<float>* scratch) {
  const size_t dim = static_cast<size_t>(p.factors) + 1;
  constexpr size_t kStride = sizeof(data::PackedRating) / sizeof(uint32_t);
  RowLookup fields[2];
  fields[0] = {user_rows, nullptr, dim + users.state_floats, &ratings.data()->user, kStride,
               nullptr};
  fields[1] = {item_rows, nullptr, dim + items.state_floats, item_slot.data(), 1, nullptr};
  const RowStepper steppers[2] = {users, items};
  ExampleBatch batch{ratings.size(), &ratings.data()->rating, kStride, fields, steppers, {}};
  return MakeMf(p).Step(batch, scratch);
}

}  // namespace psrec::models
