#include "train/evaluator.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "train/batch_plan.h"

namespace psrec::train {

namespace {

// Pulls the rows of `plan` and adds its errors to `sums`.
Status EvaluatePlan(const BatchPlan& plan, TableAccess* users, TableAccess* items,
                    const EvalOptions& options, std::vector<float>* user_rows,
                    std::vector<float>* item_rows, ErrorSums* sums) {
  const size_t user_stride = static_cast<size_t>(users->dim());
  const size_t item_stride = static_cast<size_t>(items->dim());
  user_rows->resize(plan.user_keys.size() * user_stride);
  item_rows->resize(plan.item_keys.size() * item_stride);
  ASSIGN_OR_RETURN(auto user_ticket,
                   users->BeginPull(plan.user_keys, user_rows->data(), options.clock));
  ASSIGN_OR_RETURN(auto item_ticket,
                   items->BeginPull(plan.item_keys, item_rows->data(), options.clock));
  RETURN_IF_ERROR(users->EndPull(user_ticket));
  RETURN_IF_ERROR(items->EndPull(item_ticket));
  for (size_t i = 0; i < plan.rating.size(); ++i) {
    const float* rows[2] = {user_rows->data() + plan.user_slot[i] * user_stride,
                            item_rows->data() + plan.item_slot[i] * item_stride};
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
  std::vector<float> user_rows, item_rows;
  for (size_t begin = 0; begin < shard.size(); begin += options.chunk) {
    const size_t end = std::min(shard.size(), begin + options.chunk);
    positions.resize(end - begin);
    std::iota(positions.begin(), positions.end(), static_cast<uint32_t>(begin));
    planner.Build(positions, shard.user_index, shard.item_index, shard.rating, &plan);
    RETURN_IF_ERROR(EvaluatePlan(plan, users, items, options, &user_rows, &item_rows, &sums));
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
  std::vector<float> user_rows, item_rows;
  for (size_t begin = 0; begin < ratings.size(); begin += options.chunk) {
    size_t end = std::min(ratings.size(), begin + options.chunk);
    planner.BuildPacked(ratings.subspan(begin, end - begin), {}, &plan);
    RETURN_IF_ERROR(EvaluatePlan(plan, users, items, options, &user_rows, &item_rows, &sums));
  }
  return sums;
}

}  // namespace psrec::train
