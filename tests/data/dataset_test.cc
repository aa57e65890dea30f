#include "data/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/binary_format.h"
#include "common/keys.h"
#include "data/split.h"
#include "data/synthetic.h"
#include "tests/data/ratings_testutil.h"

namespace psrec::data {
namespace {

using testing_util::FreshDir;
using testing_util::RandomColumns;
using testing_util::Row;
using testing_util::RowsOf;
using testing_util::Sorted;

// Loads the data of every worker of `workers`; checks each holds only its users; returns the
// union of train and of test.
std::pair<std::vector<Row>, std::vector<Row>> LoadAll(const config::DataConfig& data, int workers) {
  std::vector<Row> train, test;
  for (int w = 0; w < workers; ++w) {
    auto loaded = LoadWorkerData(data, w, workers);
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
    if (!loaded.ok()) return {};
    for (const RatingsShard* shard : {&loaded->train, &loaded->test}) {
      for (uint64_t user : shard->user_ids) EXPECT_EQ(PartitionOfUser(user, workers), w);
    }
    testing_util::Append(&train, RowsOf(loaded->train));
    testing_util::Append(&test, RowsOf(loaded->test));
  }
  return {Sorted(train), Sorted(test)};
}

TEST(RatingsShardTest, FromColumnsAndBack) {
  const RatingColumns columns = RandomColumns(1, 30, 40, 300, true, true);
  const RatingsShard shard = ShardFromColumns(columns);
  EXPECT_EQ(shard.size(), 300u);
  EXPECT_EQ(RowsOf(shard), RowsOf(columns));
  ASSERT_EQ(shard.user_names.size(), 30u);
  EXPECT_EQ(shard.user_names[7], "user-7");
  EXPECT_EQ(shard.item_names[8], columns.item_names[8]);
  const RatingsShard copy = shard;  // shares the storage
  const RatingColumns back = ColumnsFromShard(copy);
  EXPECT_EQ(back.user_ids, columns.user_ids);
  EXPECT_EQ(back.item_names, columns.item_names);
  EXPECT_EQ(back.timestamp, columns.timestamp);
  EXPECT_TRUE(ShardFromColumns(RatingColumns()).user_names.empty());
}

class LoadWorkerDataTest : public ::testing::TestWithParam<int> {};

TEST_P(LoadWorkerDataTest, SyntheticSharesAddUpToTheWholeSet) {
  const int workers = GetParam();
  config::DataConfig data;
  data.mutable_synthetic()->set_num_users(900);
  data.mutable_synthetic()->set_num_items(300);
  data.mutable_synthetic()->set_ratings_per_user(10);
  auto full = GenerateSynthetic(data.synthetic(), false);
  ASSERT_TRUE(full.ok());
  auto [train, test] = LoadAll(data, workers);
  EXPECT_EQ(train, Sorted(RowsOf(full->train)));
  EXPECT_EQ(test, Sorted(RowsOf(full->test)));
  EXPECT_EQ(test.size(), 900u);
}

TEST_P(LoadWorkerDataTest, BinarySharesAddUpWhateverThePartCount) {
  const int workers = GetParam();
  const RatingColumns train = RandomColumns(2, 200, 100, 4000, true, false);
  const RatingColumns test = RandomColumns(3, 200, 100, 1000, true, false);
  for (int parts : {1, 3}) {
    const std::string dir = FreshDir("prepared" + std::to_string(parts));
    PrepareOptions options;
    options.parts = parts;
    ASSERT_TRUE(WritePrepared(train, &test, options, dir).ok());
    config::DataConfig data;
    data.set_format(config::BINARY);
    data.set_train_path(dir);
    auto [got_train, got_test] = LoadAll(data, workers);
    EXPECT_EQ(got_train, Sorted(RowsOf(train))) << parts << " parts";
    EXPECT_EQ(got_test, Sorted(RowsOf(test))) << parts << " parts";
  }
}

// A MovieLens-style TSV of `c` (integer keys) at `path`.
void WriteTsv(const RatingColumns& c, const std::string& path) {
  std::ofstream out(path);
  for (size_t r = 0; r < c.size(); ++r) {
    out << c.user_ids[c.user_index[r]] << '\t' << c.item_ids[c.item_index[r]] << '\t'
        << c.rating[r] << '\t' << c.timestamp[r] << '\n';
  }
}

TEST_P(LoadWorkerDataTest, TextSplitsDoNotDependOnTheWorkerCount) {
  const int workers = GetParam();
  RatingColumns all = RandomColumns(4, 150, 80, 3000, true, false);
  for (size_t u = 0; u < all.user_ids.size(); ++u) all.user_ids[u] = u + 1;
  for (size_t i = 0; i < all.item_ids.size(); ++i) all.item_ids[i] = i + 1;
  const std::string dir = FreshDir("text");
  WriteTsv(all, dir + "/all.tsv");
  config::DataConfig data;
  data.set_format(config::MOVIELENS_TSV);
  data.set_train_path(dir + "/all.tsv");
  for (auto kind : {config::SplitConfig::RANDOM, config::SplitConfig::LEAVE_LAST_OUT}) {
    data.mutable_split()->set_kind(kind);
    auto expected = SplitRatings(all, data.split());
    ASSERT_TRUE(expected.ok());
    auto [train, test] = LoadAll(data, workers);
    EXPECT_EQ(train, Sorted(RowsOf(expected->train))) << kind;
    EXPECT_EQ(test, Sorted(RowsOf(expected->test))) << kind;
    EXPECT_FALSE(test.empty());
  }
  // GIVEN: the test file is read as is.
  data.mutable_split()->set_kind(config::SplitConfig::GIVEN);
  const RatingColumns given = RandomColumns(5, 150, 80, 500, true, false);
  RatingColumns given_ints = given;
  for (size_t u = 0; u < given_ints.user_ids.size(); ++u) given_ints.user_ids[u] = u + 1;
  for (size_t i = 0; i < given_ints.item_ids.size(); ++i) given_ints.item_ids[i] = i + 1;
  WriteTsv(given_ints, dir + "/test.tsv");
  data.set_test_path(dir + "/test.tsv");
  auto [train, test] = LoadAll(data, workers);
  EXPECT_EQ(train, Sorted(RowsOf(all)));
  EXPECT_EQ(test, Sorted(RowsOf(given_ints)));
}

INSTANTIATE_TEST_SUITE_P(Workers, LoadWorkerDataTest, ::testing::Values(1, 3));

TEST(LoadWorkerDataTest, PartsMatchingTheWorkersAreMappedDirectly) {
  const RatingColumns train = RandomColumns(6, 100, 50, 2000, false, false);
  const std::string dir = FreshDir("prepared");
  PrepareOptions options;
  options.parts = 2;
  ASSERT_TRUE(WritePrepared(train, nullptr, options, dir).ok());
  config::DataConfig data;
  data.set_format(config::BINARY);
  data.set_train_path(dir);
  auto loaded = LoadWorkerData(data, 1, 2);
  ASSERT_TRUE(loaded.ok());
  auto part = OpenPreparedPart(dir, "train", 1, 2);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(RowsOf(loaded->train), RowsOf(*part));  // same order: the part itself
  EXPECT_EQ(loaded->test.size(), 0u);
  // The worker's share is read from its own file only: another part's damage is not seen.
  std::filesystem::resize_file(PreparedPartPath(dir, "train", 0), 10);
  EXPECT_TRUE(LoadWorkerData(data, 1, 2).ok());
  EXPECT_FALSE(LoadWorkerData(data, 0, 2).ok());
}

TEST(LoadWorkerDataTest, Errors) {
  config::DataConfig data;
  EXPECT_EQ(LoadWorkerData(data, 0, 1).status().code(), Status::Code::kInvalidArgument);
  data.set_format(config::BINARY);
  data.set_train_path(FreshDir("empty"));
  EXPECT_EQ(LoadWorkerData(data, 0, 1).status().code(), Status::Code::kNotFound);
  data.set_test_path("x");
  EXPECT_EQ(LoadWorkerData(data, 0, 1).status().code(), Status::Code::kInvalidArgument);
  config::DataConfig text;
  text.set_train_path(FreshDir("text") + "/missing.tsv");
  EXPECT_EQ(LoadWorkerData(text, 0, 1).status().code(), Status::Code::kNotFound);
}

TEST(LoadWorkerDataTest, MovieLens100kU1) {
  const std::string dir = PSREC_ML100K_DIR;
  if (!std::filesystem::exists(dir + "/u1.base")) GTEST_SKIP() << "ML-100K not present";
  config::DataConfig data;
  data.set_train_path(dir + "/u1.base");
  data.set_test_path(dir + "/u1.test");
  data.set_format(config::MOVIELENS_TSV);
  auto [train, test] = LoadAll(data, 3);
  EXPECT_EQ(train.size(), 80000u);
  EXPECT_EQ(test.size(), 20000u);
}

}  // namespace
}  // namespace psrec::data
