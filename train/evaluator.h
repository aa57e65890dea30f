// Evaluation of a rating model on a worker's share of ratings: RMSE and MAE inputs (sums,
// so workers can reduce them) of the model's scores, clipped to the data's rating range.
// Read-only: rows are pulled without creating any (TableAccess::BeginPullReadOnly), and a
// user or item without a row is scored with the model's cold-start row (Model::ColdStartRow),
// so evaluating leaves the model, and every later checkpoint, as training made it.
//
// Thread safety: runs on the trainer thread; uses the trainer's TableAccess objects.
#pragma once

#include <cstdint>
#include <span>

#include "data/dataset.h"
#include "common/status.h"
#include "train/batch_plan.h"
#include "models/model.h"
#include "train/table_access.h"

namespace psrec::train {

struct ErrorSums {
  double squared = 0;
  double absolute = 0;
  double count = 0;
};

struct EvalOptions {
  const models::Model* model = nullptr;
  float min_rating = -1e30f;
  float max_rating = 1e30f;
  int clock = 0;
  size_t chunk = 16384;  // ratings per pull
};

// Evaluates every rating of `shard`.
Result<ErrorSums> EvaluateRatings(const data::RatingsShard& shard, TableAccess* users,
                             TableAccess* items, const EvalOptions& options);

// Evaluates packed ratings whose dense indices refer to `user_ids` / `item_ids`.
Result<ErrorSums> EvaluateRatings(std::span<const data::PackedRating> ratings,
                             std::span<const uint64_t> user_ids,
                             std::span<const uint64_t> item_ids, TableAccess* users,
                             TableAccess* items, const EvalOptions& options);

}  // namespace psrec::train
