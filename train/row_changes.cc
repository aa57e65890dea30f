#include "models/mf/mf_steps.h"

#include <Eigen/Core>
#include <glog/logging.h>

namespace psrec::models {
namespace {

using ConstVec = Eigen::Map<const Eigen::VectorXf>;
using Vec = Eigen::Map<Eigen::VectorXf>;

constexpr size_t kPrefetchAhead = 6;
constexpr size_t kPrefetchAddressAhead = 16;

void PrefetchForWrite(const float* row, size_t floats) {
  const char* bytes = reinterpret_cast<const char*>(row);
  for (size_t offset = 0; offset < floats * sizeof(float); offset += 64) {
    __builtin_prefetch(bytes + offset, 1);
  }
}

void PrefetchForRead(const float* row, size_t floats) {
  const char* bytes = reinterpret_cast<const char*>(row);
  for (size_t offset = 0; offset < floats * sizeof(float); offset += 64) {
    __builtin_prefetch(bytes + offset, 0);
  }
}

// Rating i of a batch: its user row, its value, and (for rows found through a table of
// addresses) a prefetch of that address.
struct RowsBySlot {  // user rows in one array: base + slot[i] * stride
  float* base;
  const uint32_t* slot;
  size_t stride;
  const float* values;
  float* user_row(size_t i) const { return base + slot[i] * stride; }
  float rating(size_t i) const { return values[i]; }
  void PrefetchAddress(size_t) const {}
};
struct PackedByAddress {  // packed ratings, user rows anywhere: rows[packed[i].user]
  float* const* rows;
  const data::PackedRating* packed;
  float* user_row(size_t i) const { return rows[packed[i].user]; }
  float rating(size_t i) const { return packed[i].rating; }
  void PrefetchAddress(size_t i) const { __builtin_prefetch(rows + packed[i].user); }
};
struct PackedBySlot {  // packed ratings, user rows in one array by dense index
  float* base;
  const data::PackedRating* packed;
  size_t stride;
  float* user_row(size_t i) const { return base + packed[i].user * stride; }
  float rating(size_t i) const { return packed[i].rating; }
  void PrefetchAddress(size_t) const {}
};

// One optimizer step on a row: SGD inline (the common case, two steps per rating, where a
// virtual call per row costs ~10% of the kernel), any other optimizer through the table's.
template <bool kSgd>
void StepRow(const RowStep& step, float* row, const float* grad, int dim) {
  if constexpr (kSgd) {
    Vec(row, dim) -= step.learning_rate * ConstVec(grad, dim);
  } else {
    step.optimizer->UpdateRow(row, row + dim, grad, dim, step.learning_rate);
  }
}

template <bool kUserSgd, bool kItemSgd, typename Ratings>
double Step(const MfParams& params, const RowStep& users, const RowStep& items,
            const Ratings& batch, std::span<const uint32_t> item_slot, float* item_rows,
            std::vector<float>* scratch) {
  const int k = params.factors;
  const int dim = k + 1;
  const size_t user_floats = static_cast<size_t>(dim + users.state_floats);
  const size_t item_stride = static_cast<size_t>(dim + items.state_floats);
  scratch->resize(2 * static_cast<size_t>(dim));
  float* user_grad = scratch->data();
  float* item_grad = user_grad + dim;
  double sse = 0;
  const size_t n = item_slot.size();
  for (size_t i = 0; i < n; ++i) {
    // Rows of a shuffled batch are cache misses: fetch a few ratings ahead (and what it
    // takes to find a user row, further ahead).
    if (i + kPrefetchAddressAhead < n) batch.PrefetchAddress(i + kPrefetchAddressAhead);
    if (i + kPrefetchAhead < n) {
      PrefetchForWrite(batch.user_row(i + kPrefetchAhead), user_floats);
      PrefetchForWrite(item_rows + item_slot[i + kPrefetchAhead] * item_stride, item_stride);
    }
    float* pu = batch.user_row(i);
    float* qi = item_rows + item_slot[i] * item_stride;
    ConstVec p(pu, k), q(qi, k);
    const float e = params.global_mean + pu[k] + qi[k] + p.dot(q) - batch.rating(i);
    sse += static_cast<double>(e) * e;
    // Both gradients from the rows before either step, as in mf_gradients.h.
    Vec(user_grad, k).noalias() = e * q + params.l2_factors * p;
    Vec(item_grad, k).noalias() = e * p + params.l2_factors * q;
    user_grad[k] = e + params.l2_bias * pu[k];
    item_grad[k] = e + params.l2_bias * qi[k];
    StepRow<kUserSgd>(users, pu, user_grad, dim);
    StepRow<kItemSgd>(items, qi, item_grad, dim);
  }
  return sse;
}

template <typename Ratings>
double Dispatch(const MfParams& params, const RowStep& users, const RowStep& items,
                const Ratings& batch, std::span<const uint32_t> item_slot, float* item_rows,
                std::vector<float>* scratch) {
  const bool user_sgd = dynamic_cast<const table::SgdOptimizer*>(users.optimizer) != nullptr;
  const bool item_sgd = dynamic_cast<const table::SgdOptimizer*>(items.optimizer) != nullptr;
  if (user_sgd && item_sgd) {
    return Step<true, true>(params, users, items, batch, item_slot, item_rows, scratch);
  }
  if (user_sgd) {
    return Step<true, false>(params, users, items, batch, item_slot, item_rows, scratch);
  }
  if (item_sgd) {
    return Step<false, true>(params, users, items, batch, item_slot, item_rows, scratch);
  }
  return Step<false, false>(params, users, items, batch, item_slot, item_rows, scratch);
}

}  // namespace

double StepMfRatings(const MfParams& params, const RowStep& users, const RowStep& items,
                     float* user_rows, std::span<const uint32_t> user_slot,
                     std::span<const uint32_t> item_slot, std::span<const float> rating,
                     float* item_rows, std::vector<float>* scratch) {
  CHECK_EQ(rating.size(), item_slot.size());
  const size_t stride = static_cast<size_t>(params.factors + 1 + users.state_floats);
  return Dispatch(params, users, items,
                  RowsBySlot{user_rows, user_slot.data(), stride, rating.data()}, item_slot,
                  item_rows, scratch);
}

double StepMfRatings(const MfParams& params, const RowStep& users, const RowStep& items,
                     std::span<float* const> user_row_by_dense,
                     std::span<const data::PackedRating> ratings, std::span<const uint32_t> item_slot,
                     float* item_rows, std::vector<float>* scratch) {
  CHECK_EQ(ratings.size(), item_slot.size());
  return Dispatch(params, users, items,
                  PackedByAddress{user_row_by_dense.data(), ratings.data()}, item_slot,
                  item_rows, scratch);
}

double StepMfRatings(const MfParams& params, const RowStep& users, const RowStep& items,
                     float* user_rows, std::span<const data::PackedRating> ratings,
                     std::span<const uint32_t> item_slot, float* item_rows,
                     std::vector<float>* scratch) {
  CHECK_EQ(ratings.size(), item_slot.size());
  const size_t stride = static_cast<size_t>(params.factors + 1 + users.state_floats);
  return Dispatch(params, users, items, PackedBySlot{user_rows, ratings.data(), stride},
                  item_slot, item_rows, scratch);
}

void ToRowChanges(std::span<float> rows, std::span<const float> base) {
  CHECK_EQ(rows.size(), base.size());
  const Eigen::Index n = static_cast<Eigen::Index>(rows.size());
  Vec(rows.data(), n) -= ConstVec(base.data(), n);
}

void AddChangesToSharedRows(std::span<const uint32_t> done_dense,
                            std::span<const float> done_changes,
                            std::span<const uint32_t> next_dense, std::span<float> next_rows,
                            size_t stride, std::vector<uint32_t>* slot_of_dense) {
  CHECK_EQ(done_changes.size(), done_dense.size() * stride);
  CHECK_EQ(next_rows.size(), next_dense.size() * stride);
  std::vector<uint32_t>& slot_of = *slot_of_dense;
  for (size_t s = 0; s < done_dense.size(); ++s) {
    if (done_dense[s] >= slot_of.size()) slot_of.resize(done_dense[s] + 1, kNoSlot);
    slot_of[done_dense[s]] = static_cast<uint32_t>(s);
  }
  const Eigen::Index n = static_cast<Eigen::Index>(stride);
  auto done_slot = [&](size_t s) {
    return next_dense[s] < slot_of.size() ? slot_of[next_dense[s]] : kNoSlot;
  };
  // The next batch's rows are read in order; the done batch's changes are found by dense
  // index, all over a buffer of 10+ MB for large batches: fetch them a few rows ahead.
  constexpr size_t kAhead = 8;
  const size_t count = next_dense.size();
  for (size_t s = 0; s < count; ++s) {
    if (s + kAhead < count) {
      const uint32_t ahead = done_slot(s + kAhead);
      if (ahead != kNoSlot) PrefetchForRead(done_changes.data() + ahead * stride, stride);
    }
    const uint32_t done = done_slot(s);
    if (done == kNoSlot) continue;
    Vec(next_rows.data() + s * stride, n) += ConstVec(done_changes.data() + done * stride, n);
  }
  for (const uint32_t dense : done_dense) slot_of[dense] = kNoSlot;
}

}  // namespace psrec::models
