#include "train/batch_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <thread>
#include <vector>

#include "train/thread_collective.h"

namespace psrec::train {
namespace {

// `n` ratings of 40 users and 25 items; rating i has the value i (exact in a float), so a
// batch's ratings say which of the shard's ratings it holds.
data::RatingsShard Shard(size_t n) {
  data::RatingColumns c;
  for (uint64_t u = 0; u < 40; ++u) c.user_ids.push_back(1000 + 7 * u);
  for (uint64_t i = 0; i < 25; ++i) c.item_ids.push_back(5000 + 3 * i);
  for (size_t r = 0; r < n; ++r) {
    c.user_index.push_back(static_cast<uint32_t>((r * 13) % 40));
    c.item_index.push_back(static_cast<uint32_t>((r * 7 + r / 3) % 25));
    c.rating.push_back(static_cast<float>(r));
  }
  return data::ShardFromColumns(std::move(c));
}

config::TrainingConfig Training(config::RatingOrder order) {
  config::TrainingConfig training;
  training.set_seed(17);
  training.set_rating_order(order);
  return training;
}

// Every batch of `epoch`, in order: the ratings each holds.
std::vector<std::vector<float>> EpochBatches(BatchSource* source, int epoch) {
  source->StartEpoch(epoch);
  std::vector<std::vector<float>> batches;
  BatchPlan plan;
  for (size_t b = 0; b < static_cast<size_t>(source->batches_per_epoch()); ++b) {
    source->Plan(b, &plan, /*items_only=*/false);
    batches.push_back(plan.rating);
  }
  return batches;
}

TEST(BatchSourceTest, EveryEpochCoversEveryRatingOnceWithTheRightKeys) {
  const size_t n = 1001;
  for (auto order : {config::SHUFFLED, config::BY_USER}) {
    data::RatingsShard shard = Shard(n);
    const data::RatingsShard original = shard;  // shares the storage: stays readable
    BatchSource source(Training(order), 0, &shard, 7);
    EXPECT_EQ(shard.size(), 0u);  // the source keeps the only copy of the ratings
    ASSERT_EQ(shard.user_ids.size(), 40u);
    for (int epoch = 0; epoch < 3; ++epoch) {
      source.StartEpoch(epoch);
      std::vector<int> seen(n, 0);
      BatchPlan plan;
      for (size_t b = 0; b < 7; ++b) {
        source.Plan(b, &plan, false);
        EXPECT_NEAR(static_cast<double>(plan.ratings), n / 7.0, 1.0);
        for (size_t i = 0; i < plan.ratings; ++i) {
          const size_t r = static_cast<size_t>(plan.rating[i]);
          ASSERT_LT(r, n);
          ++seen[r];
          EXPECT_EQ(plan.user_keys[plan.user_slot[i]], original.user_ids[original.user_index[r]]);
          EXPECT_EQ(plan.item_keys[plan.item_slot[i]], original.item_ids[original.item_index[r]]);
        }
      }
      EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(n))
          << "epoch " << epoch;
    }
  }
}

TEST(BatchSourceTest, OrderDependsOnSeedRankAndEpochOnly) {
  data::RatingsShard a_shard = Shard(500), b_shard = Shard(500), c_shard = Shard(500);
  BatchSource a(Training(config::SHUFFLED), 1, &a_shard, 5);
  BatchSource b(Training(config::SHUFFLED), 1, &b_shard, 5);
  BatchSource other_rank(Training(config::SHUFFLED), 2, &c_shard, 5);
  const auto first = EpochBatches(&a, 0);
  EXPECT_EQ(EpochBatches(&a, 3), EpochBatches(&b, 3));
  EXPECT_EQ(EpochBatches(&a, 0), first);  // an epoch repeats when started again
  EXPECT_NE(EpochBatches(&a, 1), first);
  EXPECT_NE(EpochBatches(&other_rank, 0), first);
}

TEST(BatchSourceTest, ByUserKeepsEachUsersRatingsTogether) {
  data::RatingsShard shard = Shard(800);
  BatchSource source(Training(config::BY_USER), 0, &shard, 3);
  std::vector<bool> finished(40, false);
  uint32_t current = UINT32_MAX;
  for (const data::PackedRating& r : source.packed()) {
    if (r.user == current) continue;
    ASSERT_FALSE(finished[r.user]) << "user " << r.user << " appears twice";
    if (current != UINT32_MAX) finished[current] = true;
    current = r.user;
  }
}

TEST(BatchSourceTest, ItemsOnlyPlansItemsOfTheSameRatings) {
  data::RatingsShard shard = Shard(300);
  BatchSource source(Training(config::SHUFFLED), 0, &shard, 4);
  source.StartEpoch(2);
  BatchPlan full, items;
  for (size_t b = 0; b < 4; ++b) {
    source.Plan(b, &full, false);
    source.Plan(b, &items, true);
    EXPECT_EQ(items.item_keys, full.item_keys);
    EXPECT_EQ(items.item_slot, full.item_slot);
    EXPECT_TRUE(items.user_keys.empty());
    size_t in_parts = 0;
    for (const auto& part : items.parts) in_parts += part.size();
    EXPECT_EQ(in_parts, full.ratings);
  }
}

TEST(BatchSourceTest, WorkersAgreeOnTheLargestPartitionsBatchCount) {
  ThreadCollectiveGroup group(3);
  const size_t ratings[3] = {10, 25, 0};
  int64_t agreed[3] = {0, 0, 0};
  std::vector<std::thread> threads;
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      auto member = group.Member(r);
      Result<int64_t> n = BatchSource::AgreeBatchesPerEpoch(ratings[r], 4, member.get());
      ASSERT_TRUE(n.ok());
      agreed[r] = *n;
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < 3; ++r) EXPECT_EQ(agreed[r], 7);  // ceil(25 / 4)
  ThreadCollectiveGroup alone(1);
  Result<int64_t> empty = BatchSource::AgreeBatchesPerEpoch(0, 4, alone.Member(0).get());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, 1);
}

}  // namespace
}  // namespace psrec::train
