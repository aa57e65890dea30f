#include "train/ranking_metrics.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace psrec::train {
namespace {

TEST(RankAmongNegatives, TiesCountAgainstTheModel) {
  const std::vector<float> negatives = {0.5f, 0.4f, 0.6f};
  EXPECT_EQ(RankAmongNegatives(0.5f, negatives), 2);
  EXPECT_EQ(RankAmongNegatives(0.61f, negatives), 0);
  EXPECT_EQ(RankAmongNegatives(0.0f, negatives), 3);
}

TEST(LeaveOneOutSums, HitRateAndNdcg) {
  LeaveOneOutSums sums;
  sums.Add(0, 10);   // top: NDCG 1
  sums.Add(2, 10);   // third: NDCG 1 / log2(4) = 0.5
  sums.Add(10, 10);  // 11th: a miss at K = 10
  EXPECT_EQ(sums.count, 3);
  EXPECT_EQ(sums.hits, 2);
  EXPECT_DOUBLE_EQ(sums.ndcg, 1.5);
}

TEST(TopK, KeepsTheBestWithLowerIndexOnTies) {
  TopK top(3);
  const float scores[] = {0.2f, 0.9f, 0.5f, 0.9f, 0.1f, 0.5f};
  for (uint32_t i = 0; i < 6; ++i) top.Offer(scores[i], i);
  const auto best = top.Sorted();
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best[0].second, 1u);
  EXPECT_EQ(best[1].second, 3u);
  EXPECT_EQ(best[2].second, 2u);  // 0.5 at index 2 beats 0.5 at index 5
}

// Items 0..4 scored 0.9 0.1 0.5 0.7 0.3; item 0 is a training item, 2 and 4 are relevant.
class RankUserTest : public ::testing::Test {
 protected:
  const std::vector<float> scores = {0.9f, 0.1f, 0.5f, 0.7f, 0.3f};
  const std::vector<uint32_t> excluded = {0};
  const std::vector<uint32_t> relevant = {2, 4};
  RankingScratch scratch;
};

TEST_F(RankUserTest, WithTheTrainingItemsExcluded) {
  // Order 3 2 4 1; the top 2 (3, 2) hold one hit, at position 1.
  FullRankingSums sums;
  RankUser(scores, excluded, relevant, 2, /*exclude=*/true, &scratch, &sums);
  EXPECT_EQ(sums.users, 1);
  EXPECT_DOUBLE_EQ(sums.precision, 0.5);
  EXPECT_DOUBLE_EQ(sums.recall, 0.5);
  const double dcg = 1 / std::log2(3.0);
  EXPECT_NEAR(sums.ndcg, dcg / (1 + dcg), 1e-12);
  EXPECT_DOUBLE_EQ(sums.map, 0.25);  // (1/2) / min(2, 2)
  // Relevant 0.5 and 0.3 against the others 0.1 and 0.7: 2 of 4 pairs won.
  EXPECT_EQ(sums.auc_users, 1);
  EXPECT_DOUBLE_EQ(sums.auc, 0.5);
}

TEST_F(RankUserTest, WithoutExclusion) {
  // Order 0 3 2 4 1: no hit in the top 2; against 0.9 0.7 0.1, 2 of 6 pairs won.
  FullRankingSums sums;
  RankUser(scores, excluded, relevant, 2, /*exclude=*/false, &scratch, &sums);
  EXPECT_EQ(sums.precision, 0);
  EXPECT_EQ(sums.recall, 0);
  EXPECT_EQ(sums.ndcg, 0);
  EXPECT_EQ(sums.map, 0);
  EXPECT_NEAR(sums.auc, 1.0 / 3, 1e-12);
}

TEST(RankUser, TiesHalfForAucAndLowerIndexFirst) {
  const std::vector<float> scores = {0.5f, 0.5f, 0.5f};
  const std::vector<uint32_t> relevant = {1};
  RankingScratch scratch;
  FullRankingSums sums;
  RankUser(scores, {}, relevant, 1, true, &scratch, &sums);
  EXPECT_EQ(sums.precision, 0);  // item 0 wins the tie for the only slot
  EXPECT_DOUBLE_EQ(sums.auc, 0.5);
  // K = 3 finds it at position 1 (0-based): MAP (1/2) / min(1, 3), recall 1.
  FullRankingSums at3;
  RankUser(scores, {}, relevant, 3, true, &scratch, &at3);
  EXPECT_DOUBLE_EQ(at3.recall, 1);
  EXPECT_DOUBLE_EQ(at3.precision, 1.0 / 3);
  EXPECT_DOUBLE_EQ(at3.map, 0.5);
  EXPECT_NEAR(at3.ndcg, 1 / std::log2(3.0), 1e-12);
}

TEST(RankUser, UsersWithoutRankableRelevantItemsAreNotCounted) {
  const std::vector<float> scores = {0.3f, 0.2f};
  const std::vector<uint32_t> only = {0};
  RankingScratch scratch;
  FullRankingSums sums;
  RankUser(scores, only, only, 1, true, &scratch, &sums);  // its one relevant item is excluded
  EXPECT_EQ(sums.users, 0);
  RankUser(scores, {}, {}, 1, true, &scratch, &sums);
  EXPECT_EQ(sums.users, 0);
  // Every candidate relevant: AUC undefined, the rest counted.
  const std::vector<uint32_t> both = {0, 1};
  RankUser(scores, {}, both, 2, true, &scratch, &sums);
  EXPECT_EQ(sums.users, 1);
  EXPECT_EQ(sums.auc_users, 0);
  EXPECT_DOUBLE_EQ(sums.precision, 1);
}

}  // namespace
}  // namespace psrec::train
