#include "data/split.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "common/keys.h"
#include "tests/data/ratings_testutil.h"

namespace psrec::data {
namespace {

using testing_util::RandomColumns;
using testing_util::Row;
using testing_util::RowsOf;
using testing_util::Sorted;

config::SplitConfig Random(double fraction, uint64_t seed) {
  config::SplitConfig split;
  split.set_kind(config::SplitConfig::RANDOM);
  split.set_test_fraction(fraction);
  split.set_seed(seed);
  return split;
}

config::SplitConfig LeaveLastOut(int k) {
  config::SplitConfig split;
  split.set_kind(config::SplitConfig::LEAVE_LAST_OUT);
  split.set_leave_last_k(k);
  return split;
}

// The same ratings in another order (as another file layout or worker would see them).
RatingColumns Shuffled(const RatingColumns& c, uint64_t seed) {
  std::vector<bool> all(c.size(), true);
  RatingColumns out = c;
  std::vector<size_t> order(c.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  for (size_t i = 0; i < order.size(); ++i) {
    out.user_index[i] = c.user_index[order[i]];
    out.item_index[i] = c.item_index[order[i]];
    out.rating[i] = c.rating[order[i]];
    if (c.has_timestamps()) out.timestamp[i] = c.timestamp[order[i]];
  }
  return out;
}

TEST(SplitTest, RandomIsDeterministicDisjointAndComplete) {
  const RatingColumns all = RandomColumns(1, 500, 300, 20000, true, false);
  auto a = SplitRatings(all, Random(0.2, 7));
  auto b = SplitRatings(all, Random(0.2, 7));
  auto c = SplitRatings(all, Random(0.2, 8));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(RowsOf(a->train), RowsOf(b->train));
  EXPECT_EQ(RowsOf(a->test), RowsOf(b->test));
  EXPECT_NE(RowsOf(a->test), RowsOf(c->test));
  std::vector<Row> both = RowsOf(a->train);
  testing_util::Append(&both, RowsOf(a->test));
  EXPECT_EQ(Sorted(both), Sorted(RowsOf(all)));
  const double fraction = static_cast<double>(a->test.size()) / all.size();
  EXPECT_NEAR(fraction, 0.2, 0.015);
  // A (user, item) pair never lies on both sides.
  std::set<std::pair<uint64_t, uint64_t>> train_pairs;
  for (const Row& r : RowsOf(a->train)) train_pairs.emplace(std::get<0>(r), std::get<1>(r));
  for (const Row& r : RowsOf(a->test)) EXPECT_EQ(train_pairs.count({std::get<0>(r), std::get<1>(r)}), 0u);
}

TEST(SplitTest, RandomDoesNotDependOnOrderOrOnWhichUsersAreSplit) {
  const RatingColumns all = RandomColumns(2, 400, 100, 10000, false, false);
  auto whole = SplitRatings(all, Random(0.3, 11));
  ASSERT_TRUE(whole.ok());
  auto shuffled = SplitRatings(Shuffled(all, 5), Random(0.3, 11));
  ASSERT_TRUE(shuffled.ok());
  EXPECT_EQ(Sorted(RowsOf(shuffled->test)), Sorted(RowsOf(whole->test)));
  // Each of 3 workers splitting only its users' ratings gets its share of the same split.
  std::vector<Row> test_union;
  for (int w = 0; w < 3; ++w) {
    std::vector<bool> mine(all.size());
    for (size_t r = 0; r < all.size(); ++r) {
      mine[r] = PartitionOfUser(all.user_ids[all.user_index[r]], 3) == w;
    }
    auto part = SplitRatings(SelectRatings(all, mine), Random(0.3, 11));
    ASSERT_TRUE(part.ok());
    testing_util::Append(&test_union, RowsOf(part->test));
  }
  EXPECT_EQ(Sorted(test_union), Sorted(RowsOf(whole->test)));
}

TEST(SplitTest, LeaveLastOutHoldsOutEachUsersLatestRatings) {
  RatingColumns all = RandomColumns(3, 60, 500, 3000, true, false);
  // User 0 gets exactly two ratings, which both stay in train for k = 2.
  for (size_t r = 0; r < all.size(); ++r) {
    if (all.user_index[r] == 0) all.user_index[r] = 1;
  }
  all.user_index[10] = 0;
  all.user_index[20] = 0;
  auto split = SplitRatings(all, LeaveLastOut(2));
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  std::map<uint64_t, std::vector<int64_t>> train_times, test_times;
  for (const Row& r : RowsOf(split->train)) train_times[std::get<0>(r)].push_back(std::get<3>(r));
  for (const Row& r : RowsOf(split->test)) test_times[std::get<0>(r)].push_back(std::get<3>(r));
  EXPECT_EQ(test_times.count(all.user_ids[0]), 0u);
  EXPECT_EQ(train_times[all.user_ids[0]].size(), 2u);
  for (const auto& [user, times] : test_times) {
    ASSERT_EQ(times.size(), 2u) << user;
    ASSERT_FALSE(train_times[user].empty()) << user;
    const int64_t latest_train = *std::max_element(train_times[user].begin(), train_times[user].end());
    for (int64_t t : times) EXPECT_GE(t, latest_train) << user;
  }
  EXPECT_EQ(split->train.size() + split->test.size(), all.size());
  auto again = SplitRatings(Shuffled(all, 9), LeaveLastOut(2));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Sorted(RowsOf(again->test)), Sorted(RowsOf(split->test)));
}

TEST(SplitTest, LeaveLastOutBreaksTimestampTiesByItemKey) {
  RatingColumns all;
  all.user_ids = {42};
  all.item_ids = {9, 3, 7};
  all.user_index = {0, 0, 0};
  all.item_index = {0, 1, 2};
  all.rating = {1, 2, 3};
  all.timestamp = {100, 100, 100};
  auto split = SplitRatings(all, LeaveLastOut(1));
  ASSERT_TRUE(split.ok());
  ASSERT_EQ(split->test.size(), 1u);
  EXPECT_EQ(split->test.item_ids[split->test.item_index[0]], 9u);
}

TEST(SplitTest, Errors) {
  const RatingColumns no_times = RandomColumns(4, 10, 10, 100, false, false);
  auto split = SplitRatings(no_times, LeaveLastOut(1));
  ASSERT_FALSE(split.ok());
  EXPECT_NE(split.status().message().find("needs timestamps"), std::string::npos);
  EXPECT_EQ(SplitRatings(no_times, config::SplitConfig()).status().code(),
            Status::Code::kInvalidArgument);  // GIVEN
  EXPECT_EQ(SplitRatings(no_times, Random(1.0, 1)).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(SplitRatings(no_times, Random(0.0, 1)).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(SplitRatings(no_times, LeaveLastOut(0)).status().code(), Status::Code::kInvalidArgument);
}

TEST(SelectRatingsTest, KeepsOnlyUsedDictionaryEntriesInSourceOrder) {
  const RatingColumns all = RandomColumns(5, 50, 80, 400, true, true);
  std::vector<bool> keep(all.size());
  for (size_t r = 0; r < all.size(); ++r) keep[r] = r % 3 == 0;
  const RatingColumns some = SelectRatings(all, keep);
  std::vector<Row> expected;
  const std::vector<Row> rows = RowsOf(all);
  for (size_t r = 0; r < rows.size(); ++r) {
    if (keep[r]) expected.push_back(rows[r]);
  }
  EXPECT_EQ(RowsOf(some), expected);
  std::set<uint32_t> users(some.user_index.begin(), some.user_index.end());
  std::set<uint32_t> items(some.item_index.begin(), some.item_index.end());
  EXPECT_EQ(users.size(), some.user_ids.size());
  EXPECT_EQ(items.size(), some.item_ids.size());
  ASSERT_EQ(some.user_names.size(), some.user_ids.size());
  for (size_t u = 0; u < some.user_ids.size(); ++u) {
    size_t index = std::find(all.user_ids.begin(), all.user_ids.end(), some.user_ids[u]) - all.user_ids.begin();
    EXPECT_EQ(some.user_names[u], all.user_names[index]);
    if (u > 0) {
      size_t prev = std::find(all.user_ids.begin(), all.user_ids.end(), some.user_ids[u - 1]) - all.user_ids.begin();
      EXPECT_LT(prev, index);
    }
  }
}

}  // namespace
}  // namespace psrec::data
