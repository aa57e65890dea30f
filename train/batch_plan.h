// BatchPlan: the unique keys of one mini-batch and, per rating, the slot of its user and
// item among them. Built from dense indices (RatingsShard::user_index/item_index) with
// stamp arrays instead of hashing: O(batch) with no allocation once buffers have grown.
//
// Thread safety: a BatchPlanner is used by one thread; a finished BatchPlan is read-only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "data/packed_rating.h"

namespace psrec::train {

struct BatchPlan {
  std::vector<uint64_t> user_keys;   // unique, in first-seen order
  std::vector<uint32_t> user_dense;  // dense user index of each user_keys entry
  std::vector<uint64_t> item_keys;   // unique, in first-seen order
  std::vector<uint32_t> item_dense;  // dense item index of each item_keys entry
  std::vector<uint32_t> user_slot;   // per rating: index into user_keys
  std::vector<uint32_t> item_slot;   // per rating: index into item_keys
  std::vector<float> rating;         // per rating
  size_t ratings = 0;                // in the batch
  // BuildPacked / BuildParts: the batch's ratings in the packed array, in parts (two when
  // the batch wraps around the array's end; with rating_order BY_TILE one per tile visited),
  // none empty; and per part its round: parts of one round share no user and no item row.
  std::vector<std::span<const data::PackedRating>> parts;
  std::vector<uint32_t> part_round;
  // Implicit models (train/implicit_batches.h): the batch's examples, which parts[0]
  // then spans (the plan owns them: a mode may plan the next batch while this one trains),
  // and for pairwise examples the slot of each example's negative item among item_keys.
  std::vector<data::PackedRating> expanded;
  std::vector<uint32_t> neg_slot;
};

class BatchPlanner {
 public:
  // `user_ids` / `item_ids` map dense indices to keys; they must outlive the planner.
  BatchPlanner(std::span<const uint64_t> user_ids, std::span<const uint64_t> item_ids);

  // Fills `plan` with the ratings at positions `order[begin..end)` of the shard columns.
  void Build(std::span<const uint32_t> order, std::span<const uint32_t> user_index,
             std::span<const uint32_t> item_index, std::span<const float> rating,
             BatchPlan* plan);

  // Fills `plan` with the ratings of `first` followed by those of `second` (a batch that
  // wraps around the end of the packed array). With items_only (LOCAL users stepped in
  // place, found by the dense index in the packed ratings) only item_keys and item_slot are
  // filled: no per-user bookkeeping over a table of millions of rows, no copies of ratings.
  void BuildPacked(std::span<const data::PackedRating> first, std::span<const data::PackedRating> second,
                   BatchPlan* plan, bool items_only = false);

  // The same for any number of parts (empty ones are dropped), `rounds[p]` part p's round
  // (BatchPlan::part_round).
  void BuildParts(std::span<const std::span<const data::PackedRating>> parts,
                  std::span<const uint32_t> rounds, BatchPlan* plan, bool items_only = false);

  // After BuildPacked of the same plan: adds the items `negatives` (dense indices, one per
  // example) to item_keys and fills neg_slot.
  void SlotNegatives(std::span<const uint32_t> negatives, BatchPlan* plan);

 private:
  void StartBatch(size_t ratings, BatchPlan* plan, bool items_only = false);

  struct Slots {
    std::vector<uint32_t> stamp;  // batch serial that last saw this dense index
    std::vector<uint32_t> slot;
  };
  static uint32_t SlotOf(uint32_t dense, uint32_t serial, Slots* slots,
                         std::span<const uint64_t> ids, std::vector<uint64_t>* keys,
                         std::vector<uint32_t>* denses);

  std::span<const uint64_t> user_ids_;
  std::span<const uint64_t> item_ids_;
  Slots users_;
  Slots items_;
  uint32_t serial_ = 0;
};

}  // namespace psrec::train
