// Implicit feedback: a shard of interactions turned into positives (data.implicit).
//
// An interaction is a positive when ImplicitConfig.positive_threshold is absent or its
// rating is >= the threshold; repeated (user, item) pairs collapse into one positive of
// label 1. The item dictionary becomes the job's catalogue (every item of train and test
// over all workers, sorted by key: train/implicit_setup.h builds it), so that a dense item
// index means the same item on every worker and negatives can be any catalogue item.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "common/proto/config.pb.h"
#include "data/dataset.h"

namespace psrec::data {

// Recency weights of training positives (data.implicit.recency_half_life): a user's k-th
// most recent positive (k = 0 the latest, by the pair's latest timestamp; equal times in
// item key order) weighs max(min_weight, 2^(-k / half_life)). half_life 0: every positive 1.
struct RecencyWeights {
  double half_life = 0;
  double min_weight = 0;
};

// The positives of `shard`, grouped by user in user order, items in key order; user
// dictionary and names as in `shard`, item dictionary `catalogue`, no item names and no
// timestamps. Each positive's rating is its weight: 1, or its recency weight.
// REQUIRES: catalogue is sorted and holds every item key of `shard`; timestamps when
// recency.half_life > 0.
RatingsShard ImplicitPositives(const RatingsShard& shard, const config::ImplicitConfig& implicit,
                               std::span<const uint64_t> catalogue, RecencyWeights recency = {});

}  // namespace psrec::data
