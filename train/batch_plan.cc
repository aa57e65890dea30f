#include "train/batch_plan.h"

#include <algorithm>

namespace psrec::train {

BatchPlanner::BatchPlanner(std::span<const uint64_t> user_ids,
                           std::span<const uint64_t> item_ids)
    : user_ids_(user_ids), item_ids_(item_ids) {
  users_.stamp.assign(user_ids.size(), 0);
  users_.slot.resize(user_ids.size());
  items_.stamp.assign(item_ids.size(), 0);
  items_.slot.resize(item_ids.size());
}

inline uint32_t BatchPlanner::SlotOf(uint32_t dense, uint32_t serial, Slots* slots,
                              std::span<const uint64_t> ids, std::vector<uint64_t>* keys,
                              std::vector<uint32_t>* denses) {
  if (slots->stamp[dense] != serial) {
    slots->stamp[dense] = serial;
    slots->slot[dense] = static_cast<uint32_t>(keys->size());
    keys->push_back(ids[dense]);
    if (denses != nullptr) denses->push_back(dense);
  }
  return slots->slot[dense];
}

void BatchPlanner::StartBatch(size_t ratings, BatchPlan* plan, bool items_only) {
  if (++serial_ == 0) {  // wrapped: old stamps could alias the new serial
    std::fill(users_.stamp.begin(), users_.stamp.end(), 0);
    std::fill(items_.stamp.begin(), items_.stamp.end(), 0);
    serial_ = 1;
  }
  plan->user_keys.clear();
  plan->user_dense.clear();
  plan->item_keys.clear();
  plan->item_dense.clear();
  plan->ratings = ratings;
  plan->parts.clear();
  plan->part_round.clear();
  plan->item_slot.resize(ratings);
  plan->user_slot.resize(items_only ? 0 : ratings);
  plan->rating.resize(items_only ? 0 : ratings);
  plan->neg_slot.clear();
}

void BatchPlanner::SlotNegatives(std::span<const uint32_t> negatives, BatchPlan* plan) {
  plan->neg_slot.resize(negatives.size());
  for (size_t i = 0; i < negatives.size(); ++i) {
    plan->neg_slot[i] =
        SlotOf(negatives[i], serial_, &items_, item_ids_, &plan->item_keys, &plan->item_dense);
  }
}

void BatchPlanner::Build(std::span<const uint32_t> order, std::span<const uint32_t> user_index,
                         std::span<const uint32_t> item_index, std::span<const float> rating,
                         BatchPlan* plan) {
  StartBatch(order.size(), plan);
  for (size_t i = 0; i < order.size(); ++i) {
    uint32_t r = order[i];
    plan->user_slot[i] = SlotOf(user_index[r], serial_, &users_, user_ids_, &plan->user_keys,
                               &plan->user_dense);
    plan->item_slot[i] = SlotOf(item_index[r], serial_, &items_, item_ids_, &plan->item_keys,
                                &plan->item_dense);
    plan->rating[i] = rating[r];
  }
}

void BatchPlanner::BuildPacked(std::span<const data::PackedRating> first,
                               std::span<const data::PackedRating> second, BatchPlan* plan,
                               bool items_only) {
  const std::span<const data::PackedRating> parts[2] = {first, second};
  const uint32_t rounds[2] = {0, 1};
  BuildParts(parts, rounds, plan, items_only);
}

void BatchPlanner::BuildParts(std::span<const std::span<const data::PackedRating>> parts,
                              std::span<const uint32_t> rounds, BatchPlan* plan,
                              bool items_only) {
  size_t ratings = 0;
  for (const auto& part : parts) ratings += part.size();
  StartBatch(ratings, plan, items_only);
  for (size_t p = 0; p < parts.size(); ++p) {
    if (parts[p].empty()) continue;
    plan->parts.push_back(parts[p]);
    plan->part_round.push_back(rounds[p]);
  }
  size_t i = 0;
  if (items_only) {
    for (std::span<const data::PackedRating> part : plan->parts) {
      for (const data::PackedRating& r : part) {
        plan->item_slot[i++] = SlotOf(r.item, serial_, &items_, item_ids_, &plan->item_keys,
                                      &plan->item_dense);
      }
    }
    return;
  }
  // Ratings grouped by user (training.rating_order BY_USER, BY_TILE) repeat the previous
  // user: reuse its slot instead of a random access to the stamp array per rating.
  uint32_t previous_user = UINT32_MAX, previous_slot = 0;
  for (std::span<const data::PackedRating> part : plan->parts) {
    for (const data::PackedRating& r : part) {
      if (r.user == previous_user) {
        plan->user_slot[i] = previous_slot;
      } else {
        previous_user = r.user;
        previous_slot = SlotOf(r.user, serial_, &users_, user_ids_, &plan->user_keys,
                               &plan->user_dense);
        plan->user_slot[i] = previous_slot;
      }
      plan->item_slot[i] = SlotOf(r.item, serial_, &items_, item_ids_, &plan->item_keys,
                                &plan->item_dense);
      plan->rating[i] = r.rating;
      ++i;
    }
  }
}

}  // namespace psrec::train
