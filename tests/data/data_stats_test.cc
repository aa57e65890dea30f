// Statistics of small hand-made data sets (closed-form answers) and of ML-100K.
#include "data/data_stats.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "common/json.h"
#include "data/text_reader.h"

namespace psrec::data {
namespace {

RatingColumns Columns(std::vector<uint32_t> users, std::vector<uint32_t> items,
                      std::vector<float> ratings) {
  RatingColumns c;
  c.user_index = std::move(users);
  c.item_index = std::move(items);
  c.rating = std::move(ratings);
  return c;
}

TEST(DataStatsTest, CountsDensityHistogramAndPercentiles) {
  // User 0 rates 4 items, user 1 rates 1, user 2 rates 2 items; item 0 has 3 ratings.
  RatingColumns c = Columns({0, 0, 0, 0, 1, 2, 2}, {0, 1, 2, 3, 0, 0, 1},
                            {5, 4, 4, 3, 1, 4, 2.5f});
  DataStats s = ComputeDataStats(c);
  EXPECT_EQ(s.users, 3);
  EXPECT_EQ(s.items, 4);
  EXPECT_EQ(s.ratings, 7);
  EXPECT_DOUBLE_EQ(s.density, 7.0 / 12.0);
  EXPECT_NEAR(s.rating_mean, 23.5 / 7, 1e-9);
  EXPECT_FALSE(s.histogram_binned);
  EXPECT_EQ(s.histogram, (std::map<float, int64_t>{{1, 1}, {2.5f, 1}, {3, 1}, {4, 3}, {5, 1}}));
  // Per-user counts sorted: 1 2 4 -> p50 is the 2nd (nearest rank), p90 and p99 the 3rd.
  EXPECT_EQ(s.per_user.min, 1);
  EXPECT_EQ(s.per_user.p50, 2);
  EXPECT_EQ(s.per_user.p90, 4);
  EXPECT_EQ(s.per_user.max, 4);
  // Per-item counts sorted: 1 1 2 3.
  EXPECT_EQ(s.per_item.p50, 1);
  EXPECT_EQ(s.per_item.p90, 3);
  EXPECT_DOUBLE_EQ(s.per_item.mean, 7.0 / 4);
  const std::string text = FormatDataStatsText(s);
  EXPECT_EQ(text.rfind("users: 3\nitems: 4\nratings: 7\n", 0), 0u) << text;
  const std::string json = FormatDataStatsJson(s);
  EXPECT_EQ(json.rfind("{\"users\":3,\"items\":4,\"ratings\":7,", 0), 0u) << json;
  ASSERT_EQ(json.back(), '\n');
  const Json parsed = Json::parse(json);
  EXPECT_EQ(parsed["density"], 0.583333);  // 6 significant digits
  EXPECT_EQ(parsed["histogram"][1], (Json{{"value", 2.5}, {"count", 1}}));
  EXPECT_EQ(parsed["histogram"][4], (Json{{"value", 5}, {"count", 1}}));  // a whole rating
  EXPECT_EQ(parsed["ratings_per_user"]["p90"], 4);
  EXPECT_FALSE(parsed.contains("timestamp_min"));  // no timestamps in this data
}

TEST(DataStatsTest, ManyDistinctValuesAreBinned) {
  RatingColumns c;
  for (int i = 0; i < 1000; ++i) {
    c.user_index.push_back(i % 10);
    c.item_index.push_back(i % 7);
    c.rating.push_back(static_cast<float>(i) / 100.0f);  // 0 .. 9.99
  }
  DataStats s = ComputeDataStats(c);
  ASSERT_TRUE(s.histogram_binned);
  EXPECT_EQ(s.histogram.size(), static_cast<size_t>(kHistogramBins));
  int64_t total = 0;
  for (const auto& [edge, count] : s.histogram) {
    total += count;
    EXPECT_NEAR(static_cast<double>(count), 100.0, 1.0) << edge;
  }
  EXPECT_EQ(total, 1000);
}

TEST(DataStatsTest, PiecesSharingAnIndexSpaceAddUp) {
  RatingColumns a = Columns({0, 0}, {0, 1}, {1, 2});
  RatingColumns b = Columns({1}, {1}, {3});
  DataStatsBuilder builder;
  builder.Add(a.user_index, a.item_index, a.rating, {});
  builder.Add(b.user_index, b.item_index, b.rating, {});
  DataStats s = builder.Finish();
  EXPECT_EQ(s.users, 2);
  EXPECT_EQ(s.items, 2);
  EXPECT_EQ(s.per_item.max, 2);  // item 1 in both pieces
}

TEST(DataStatsTest, MovieLens100kU1Base) {
  const std::string path = PSREC_ML100K_DIR "/u1.base";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "ML-100K not present";
  auto r = ReadRatingsFile(path, config::DataConfig(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  DataStats s = ComputeDataStats(*r);
  EXPECT_EQ(s.users, 943);
  EXPECT_EQ(s.items, 1650);
  EXPECT_EQ(s.ratings, 80000);
  EXPECT_DOUBLE_EQ(s.density, 80000.0 / (943.0 * 1650.0));
  EXPECT_EQ(s.histogram.size(), 5u);
  EXPECT_EQ(s.histogram[4.0f], 27396);
  EXPECT_GE(s.per_user.min, 1);
  EXPECT_LE(s.per_user.p50, s.per_user.p90);
  EXPECT_LE(s.per_user.p90, s.per_user.p99);
  EXPECT_LE(s.per_user.p99, s.per_user.max);
}

}  // namespace
}  // namespace psrec::data
