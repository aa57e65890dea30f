#include "train/batch_plan.h"

#include <gtest/gtest.h>

#include <vector>

namespace psrec::train {
namespace {

// Three users (keys 100..102) and two items (keys 200, 201).
const std::vector<uint64_t> kUserIds = {100, 101, 102};
const std::vector<uint64_t> kItemIds = {200, 201};

TEST(BatchPlannerTest, UniqueKeysInFirstSeenOrderAndSlotsPerRating) {
  BatchPlanner planner(kUserIds, kItemIds);
  const std::vector<uint32_t> user_index = {2, 0, 2, 1};
  const std::vector<uint32_t> item_index = {1, 1, 0, 1};
  const std::vector<float> rating = {1, 2, 3, 4};
  const std::vector<uint32_t> order = {2, 0, 1};
  BatchPlan plan;
  planner.Build(order, user_index, item_index, rating, &plan);
  EXPECT_EQ(plan.user_keys, (std::vector<uint64_t>{102, 100}));
  EXPECT_EQ(plan.item_keys, (std::vector<uint64_t>{200, 201}));
  EXPECT_EQ(plan.user_slot, (std::vector<uint32_t>{0, 0, 1}));
  EXPECT_EQ(plan.item_slot, (std::vector<uint32_t>{0, 1, 1}));
  EXPECT_EQ(plan.rating, (std::vector<float>{3, 1, 2}));
}

TEST(BatchPlannerTest, RunsOfOneUserAndUnplannedUsers) {
  BatchPlanner planner(kUserIds, kItemIds);
  // Users grouped (BY_USER order), user 2 again after user 1's run.
  const std::vector<data::PackedRating> all = {{2, 0, 1}, {2, 1, 2}, {1, 1, 3}, {2, 0, 4}};
  BatchPlan plan;
  planner.BuildPacked(all, {}, &plan);
  EXPECT_EQ(plan.user_keys, (std::vector<uint64_t>{102, 101}));
  EXPECT_EQ(plan.user_dense, (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(plan.user_slot, (std::vector<uint32_t>{0, 0, 1, 0}));
  EXPECT_EQ(plan.item_slot, (std::vector<uint32_t>{0, 1, 1, 0}));
  planner.BuildPacked(std::span(all).first(3), std::span(all).subspan(3), &plan,
                      /*items_only=*/true);
  EXPECT_EQ(plan.ratings, 4u);
  EXPECT_TRUE(plan.user_keys.empty());
  EXPECT_TRUE(plan.user_slot.empty());
  EXPECT_TRUE(plan.rating.empty());
  ASSERT_EQ(plan.parts.size(), 2u);
  EXPECT_EQ(plan.parts[0].data(), all.data());
  EXPECT_EQ(plan.parts[0].size(), 3u);
  EXPECT_EQ(plan.parts[1].size(), 1u);
  EXPECT_EQ(plan.part_round, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(plan.item_keys, (std::vector<uint64_t>{200, 201}));
  EXPECT_EQ(plan.item_slot, (std::vector<uint32_t>{0, 1, 1, 0}));
}

TEST(BatchPlannerTest, PackedBatchThatWrapsJoinsBothParts) {
  BatchPlanner planner(kUserIds, kItemIds);
  const std::vector<data::PackedRating> packed = {{0, 0, 1}, {1, 1, 2}, {2, 0, 3}, {0, 1, 4}};
  const std::span<const data::PackedRating> all(packed);
  BatchPlan plan;
  planner.BuildPacked(all.subspan(3), all.subspan(0, 2), &plan);  // ratings 3, 0, 1
  EXPECT_EQ(plan.user_keys, (std::vector<uint64_t>{100, 101}));
  EXPECT_EQ(plan.item_keys, (std::vector<uint64_t>{201, 200}));
  EXPECT_EQ(plan.user_slot, (std::vector<uint32_t>{0, 0, 1}));
  EXPECT_EQ(plan.item_slot, (std::vector<uint32_t>{0, 1, 0}));
  EXPECT_EQ(plan.rating, (std::vector<float>{4, 1, 2}));
  // The next batch starts from empty key lists: nothing leaks between batches.
  planner.BuildPacked(all.subspan(2, 1), {}, &plan);
  EXPECT_EQ(plan.user_keys, (std::vector<uint64_t>{102}));
  EXPECT_EQ(plan.item_keys, (std::vector<uint64_t>{200}));
  EXPECT_EQ(plan.user_slot, (std::vector<uint32_t>{0}));
}

TEST(BatchPlanTest, UniqueKeysInFirstSeenOrderAndSlots) {
  std::vector<uint64_t> user_ids = {100, 200, 300}, item_ids = {7, 8};
  std::vector<uint32_t> user_index = {2, 0, 2, 1}, item_index = {1, 1, 0, 1};
  std::vector<float> rating = {1, 2, 3, 4};
  BatchPlanner planner(user_ids, item_ids);
  BatchPlan plan;
  std::vector<uint32_t> order = {3, 0, 2};
  planner.Build(order, user_index, item_index, rating, &plan);
  EXPECT_EQ(plan.user_keys, (std::vector<uint64_t>{200, 300}));
  EXPECT_EQ(plan.item_keys, (std::vector<uint64_t>{8, 7}));
  EXPECT_EQ(plan.user_slot, (std::vector<uint32_t>{0, 1, 1}));
  EXPECT_EQ(plan.item_slot, (std::vector<uint32_t>{0, 0, 1}));
  EXPECT_EQ(plan.rating, (std::vector<float>{4, 1, 3}));
  // A second batch starts from nothing.
  std::vector<uint32_t> order2 = {1};
  planner.Build(order2, user_index, item_index, rating, &plan);
  EXPECT_EQ(plan.user_keys, (std::vector<uint64_t>{100}));
  EXPECT_EQ(plan.item_keys, (std::vector<uint64_t>{8}));
}

}  // namespace
}  // namespace psrec::train
