#include "data/ncf_split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "tests/data/ratings_testutil.h"

namespace psrec::data {
namespace {

// Users 10, 20 over items 1..8: user 10's latest timestamp is shared by items 3 and 5.
RatingColumns Small() {
  RatingColumns c;
  c.user_ids = {10, 20};
  c.item_ids = {1, 2, 3, 4, 5, 6, 7, 8};
  auto add = [&](uint32_t u, uint32_t i, int64_t t) {
    c.user_index.push_back(u);
    c.item_index.push_back(i);
    c.rating.push_back(4);
    c.timestamp.push_back(t);
  };
  add(0, 0, 100);
  add(0, 4, 300);  // item 5 at 300
  add(0, 2, 300);  // item 3 at 300: the tie goes to the larger item, 5
  add(0, 1, 200);
  add(1, 6, 50);
  add(1, 7, 40);  // item 8
  return c;
}

TEST(NcfSplit, LatestItemIsTestAndNegativesAreUntouched) {
  Result<NcfTriple> triple = SplitNcf(Small(), 3, 7);
  ASSERT_TRUE(triple.ok()) << triple.status().message();
  ASSERT_EQ(triple->test.size(), 2u);
  EXPECT_EQ(triple->train.size(), 4u);
  std::map<uint64_t, uint64_t> test_item;
  for (size_t r = 0; r < triple->test.size(); ++r) {
    test_item[triple->test.user_ids[triple->test.user_index[r]]] =
        triple->test.item_ids[triple->test.item_index[r]];
  }
  EXPECT_EQ(test_item[10], 5u);
  EXPECT_EQ(test_item[20], 7u);
  const std::map<uint64_t, std::set<uint64_t>> touched = {{10, {1, 2, 3, 5}}, {20, {7, 8}}};
  for (size_t r = 0; r < triple->test.size(); ++r) {
    const uint64_t user = triple->test.user_ids[triple->test.user_index[r]];
    const auto& negatives = triple->negatives[r];
    ASSERT_EQ(negatives.size(), 3u);
    std::set<uint64_t> keys;
    for (uint32_t i : negatives) keys.insert(triple->item_ids[i]);
    EXPECT_EQ(keys.size(), 3u) << "distinct";
    for (uint64_t key : keys) EXPECT_FALSE(touched.at(user).contains(key)) << key;
  }
  // Seeded: the same seed draws the same negatives, another seed (almost surely) not.
  Result<NcfTriple> again = SplitNcf(Small(), 3, 7);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->negatives, triple->negatives);
}

TEST(NcfSplit, DrawsPerUserIndependentlyOfOtherUsers) {
  RatingColumns all = testing_util::RandomColumns(3, 40, 200, 2000, true, false);
  Result<NcfTriple> full = SplitNcf(all, 20, 1);
  ASSERT_TRUE(full.ok());
  std::map<uint64_t, std::vector<uint64_t>> by_user;
  for (size_t r = 0; r < full->test.size(); ++r) {
    std::vector<uint64_t>& keys = by_user[full->test.user_ids[full->test.user_index[r]]];
    for (uint32_t i : full->negatives[r]) keys.push_back(full->item_ids[i]);
  }
  EXPECT_GT(by_user.size(), 30u);
  // Reversing the input order changes no user's draw.
  RatingColumns reversed = all;
  std::reverse(reversed.user_index.begin(), reversed.user_index.end());
  std::reverse(reversed.item_index.begin(), reversed.item_index.end());
  std::reverse(reversed.rating.begin(), reversed.rating.end());
  std::reverse(reversed.timestamp.begin(), reversed.timestamp.end());
  Result<NcfTriple> other = SplitNcf(reversed, 20, 1);
  ASSERT_TRUE(other.ok());
  for (size_t r = 0; r < other->test.size(); ++r) {
    std::vector<uint64_t> keys;
    for (uint32_t i : other->negatives[r]) keys.push_back(other->item_ids[i]);
    EXPECT_EQ(keys, by_user[other->test.user_ids[other->test.user_index[r]]]);
  }
}

TEST(NcfSplit, Errors) {
  // User 10 never rated 4 of the 8 items: 5 negatives cannot be drawn.
  Result<NcfTriple> too_many = SplitNcf(Small(), 5, 1);
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("user 10"), std::string::npos)
      << too_many.status().message();
  RatingColumns no_time = Small();
  no_time.timestamp.clear();
  EXPECT_FALSE(SplitNcf(no_time, 1, 1).ok());
}

}  // namespace
}  // namespace psrec::data
