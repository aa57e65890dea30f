#include "train/evaluator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "train/batch_plan.h"

namespace psrec::train {

namespace {

// The rows of one field of a plan, and which of them had no row in the model.
struct FieldRows {
  std::vector<float> rows;
  std::vector<uint8_t> missing;
};

struct EvalScratch {
  FieldRows users, items;
};

Result<TableAccess::Ticket> BeginReadOnly(TableAccess* access, std::span<const uint64_t> keys,
                                          int clock, FieldRows* field) {
  field->rows.resize(keys.size() * static_cast<size_t>(access->dim()));
  field->missing.resize(keys.size());
  return access->BeginPullReadOnly(keys, field->rows.data(), field->missing.data(), clock);
}

// Replaces the rows of keys without one by the model's cold-start row.
void FillColdStart(const models::Model& model, const TableAccess& access, FieldRows* field) {
  const size_t stride = static_cast<size_t>(access.dim());
  for (size_t k = 0; k < field->missing.size(); ++k) {
    if (field->missing[k] != 0) {
      model.ColdStartRow(static_cast<int>(access.spec().id), field->rows.data() + k * stride);
    }
  }
}

// Pulls the rows of `plan` without creating any and adds its errors to `sums`.
Status EvaluatePlan(const BatchPlan& plan, TableAccess* users, TableAccess* items,
                    const EvalOptions& options, EvalScratch* scratch, ErrorSums* sums) {
  ASSIGN_OR_RETURN(auto user_ticket,
                   BeginReadOnly(users, plan.user_keys, options.clock, &scratch->users));
  ASSIGN_OR_RETURN(auto item_ticket,
                   BeginReadOnly(items, plan.item_keys, options.clock, &scratch->items));
  RETURN_IF_ERROR(users->EndPull(user_ticket));
  RETURN_IF_ERROR(items->EndPull(item_ticket));
  FillColdStart(*options.model, *users, &scratch->users);
  FillColdStart(*options.model, *items, &scratch->items);
  const size_t user_stride = static_cast<size_t>(users->dim());
  const size_t item_stride = static_cast<size_t>(items->dim());
  for (size_t i = 0; i < plan.rating.size(); ++i) {
    const float* rows[2] = {scratch->users.rows.data() + plan.user_slot[i] * user_stride,
                            scratch->items.rows.data() + plan.item_slot[i] * item_stride};
    const float predicted =
        std::clamp(options.model->Score(rows), options.min_rating, options.max_rating);
    double e = static_cast<double>(predicted) - plan.rating[i];
    sums->squared += e * e;
    sums->absolute += std::abs(e);
  }
  sums->count += static_cast<double>(plan.rating.size());
  return Status::OK();
}

}  // namespace

Result<ErrorSums> EvaluateRatings(const data::RatingsShard& shard, TableAccess* users,
                             TableAccess* items, const EvalOptions& options) {
  ErrorSums sums;
  BatchPlanner planner(shard.user_ids, shard.item_ids);
  BatchPlan plan;
  std::vector<uint32_t> positions;
  EvalScratch scratch;
  for (size_t begin = 0; begin < shard.size(); begin += options.chunk) {
    const size_t end = std::min(shard.size(), begin + options.chunk);
    positions.resize(end - begin);
    std::iota(positions.begin(), positions.end(), static_cast<uint32_t>(begin));
    planner.Build(positions, shard.user_index, shard.item_index, shard.rating, &plan);
    RETURN_IF_ERROR(EvaluatePlan(plan, users, items, options, &scratch, &sums));
  }
  return sums;
}

Result<ErrorSums> EvaluateRatings(std::span<const data::PackedRating> ratings,
                             std::span<const uint64_t> user_ids,
                             std::span<const uint64_t> item_ids, TableAccess* users,
                             TableAccess* items, const EvalOptions& options) {
  ErrorSums sums;
  BatchPlanner planner(user_ids, item_ids);
  BatchPlan plan;
  EvalScratch scratch;
  for (size_t begin = 0; begin < ratings.size(); begin += options.chunk) {
    size_t end = std::min(ratings.size(), begin + options.chunk);
    planner.BuildPacked(ratings.subspan(begin, end - begin), {}, &plan);
    RETURN_IF_ERROR(EvaluatePlan(plan, users, items, options, &scratch, &sums));
  }
  return sums;
}

}  // namespace psrec::train
