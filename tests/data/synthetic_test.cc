#include "data/synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include "common/keys.h"
#include "tests/data/ratings_testutil.h"

namespace psrec::data {
namespace {

using testing_util::Row;
using testing_util::RowsOf;
using testing_util::Sorted;

config::SyntheticConfig Small() {
  config::SyntheticConfig c;
  c.set_num_users(2000);
  c.set_num_items(500);
  c.set_rank(4);
  c.set_ratings_per_user(20);
  c.set_test_fraction(0.1);
  c.set_seed(123);
  return c;
}

SyntheticData Generate(const config::SyntheticConfig& c, bool truth, int threads, int worker = 0,
                       int workers = 1) {
  SyntheticOptions options;
  options.threads = threads;
  options.worker = worker;
  options.num_workers = workers;
  auto data = GenerateSynthetic(c, truth, options);
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? std::move(data).value() : SyntheticData();
}

TEST(SyntheticTest, SameSeedSameOutputWhateverTheThreadCount) {
  const SyntheticData one = Generate(Small(), true, 1);
  const SyntheticData two = Generate(Small(), true, 2);
  const SyntheticData five = Generate(Small(), true, 5);
  for (const SyntheticData* other : {&two, &five}) {
    EXPECT_EQ(RowsOf(one.train), RowsOf(other->train));
    EXPECT_EQ(RowsOf(one.test), RowsOf(other->test));
    EXPECT_EQ(one.truth.user_factors, other->truth.user_factors);
    EXPECT_EQ(one.truth.item_factors, other->truth.item_factors);
    EXPECT_EQ(one.truth.user_bias, other->truth.user_bias);
  }
  config::SyntheticConfig reseeded = Small();
  reseeded.set_seed(124);
  EXPECT_NE(RowsOf(Generate(reseeded, false, 2).train), RowsOf(one.train));
}

TEST(SyntheticTest, ShapeCountsAndDistinctItems) {
  const SyntheticData data = Generate(Small(), false, 2);
  EXPECT_EQ(data.train.size(), 2000u * 18);  // 20 per user, round(2) held out
  EXPECT_EQ(data.test.size(), 2000u * 2);
  ASSERT_EQ(data.train.user_ids.size(), 2000u);
  for (size_t u = 0; u < 2000; ++u) EXPECT_EQ(data.train.user_ids[u], u);
  std::set<std::pair<uint64_t, uint64_t>> pairs;
  for (const Row& r : RowsOf(data.train)) pairs.emplace(std::get<0>(r), std::get<1>(r));
  for (const Row& r : RowsOf(data.test)) pairs.emplace(std::get<0>(r), std::get<1>(r));
  EXPECT_EQ(pairs.size(), 2000u * 20);  // no user rates an item twice
  for (uint64_t item : data.train.item_ids) EXPECT_LT(item, 500u);
  EXPECT_TRUE(std::is_sorted(data.train.item_ids.begin(), data.train.item_ids.end()));
}

TEST(SyntheticTest, ItemPopularityFollowsZipf) {
  config::SyntheticConfig c = Small();
  c.set_num_users(20000);
  c.set_num_items(1000);
  c.set_ratings_per_user(2);  // few draws per user: distinctness barely bends the law
  c.set_zipf_exponent(1.0);
  const SyntheticData data = Generate(c, false, 2);
  std::vector<double> count(1000, 0);
  for (const Row& r : RowsOf(data.train)) count[std::get<1>(r)] += 1;
  for (const Row& r : RowsOf(data.test)) count[std::get<1>(r)] += 1;
  // p(i) ~ 1 / (i + 1): item 0 is drawn ~4x item 3 and ~10x item 9.
  EXPECT_NEAR(count[0] / count[3], 4.0, 0.6);
  EXPECT_NEAR(count[0] / count[9], 10.0, 1.8);
  double head = 0, tail = 0;
  for (int i = 100; i < 200; ++i) head += count[i];
  for (int i = 900; i < 1000; ++i) tail += count[i];
  EXPECT_NEAR(head / tail, std::log(200.0 / 100) / std::log(1000.0 / 900), 1.2);

  c.set_zipf_exponent(0.0);
  const SyntheticData uniform = Generate(c, false, 2);
  std::vector<double> flat(1000, 0);
  for (const Row& r : RowsOf(uniform.train)) flat[std::get<1>(r)] += 1;
  EXPECT_LT(*std::max_element(flat.begin(), flat.end()), 80);  // mean 40
  EXPECT_GT(*std::min_element(flat.begin(), flat.end()), 12);
}

TEST(SyntheticTest, RatingsFollowThePlantedModel) {
  config::SyntheticConfig c = Small();
  c.set_noise_std(0.25);
  const SyntheticData data = Generate(c, true, 2);
  const SyntheticTruth& t = data.truth;
  ASSERT_EQ(t.rank, 4);
  ASSERT_EQ(t.user_factors.size(), 2000u * 4);
  ASSERT_EQ(t.item_factors.size(), 500u * 4);
  double sum = 0, sum2 = 0, bias2 = 0, factor2 = 0;
  const std::vector<Row> rows = RowsOf(data.train);
  for (const Row& row : rows) {
    const uint64_t u = std::get<0>(row), i = std::get<1>(row);
    double predicted = t.global_mean + t.user_bias[u] + t.item_bias[i];
    for (int k = 0; k < 4; ++k) predicted += t.user_factors[u * 4 + k] * t.item_factors[i * 4 + k];
    const double e = std::get<2>(row) - predicted;
    sum += e;
    sum2 += e * e;
  }
  for (float b : t.user_bias) bias2 += b * b;
  for (float f : t.item_factors) factor2 += f * f;
  const double n = static_cast<double>(rows.size());
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(sum2 / n), 0.25, 0.01);  // the noise floor
  EXPECT_NEAR(std::sqrt(bias2 / 2000), 0.3, 0.02);
  EXPECT_NEAR(std::sqrt(factor2 / (500 * 4)), 0.5, 0.03);
}

TEST(SyntheticTest, WorkersGenerateExactlyTheirUsersOfTheFullSet) {
  const SyntheticData full = Generate(Small(), false, 2);
  std::vector<Row> train, test;
  for (int w = 0; w < 3; ++w) {
    const SyntheticData part = Generate(Small(), false, 2, w, 3);
    for (uint64_t user : part.train.user_ids) EXPECT_EQ(PartitionOfUser(user, 3), w);
    std::set<uint32_t> items(part.train.item_index.begin(), part.train.item_index.end());
    EXPECT_EQ(items.size(), part.train.item_ids.size());
    testing_util::Append(&train, RowsOf(part.train));
    testing_util::Append(&test, RowsOf(part.test));
  }
  EXPECT_EQ(Sorted(train), Sorted(RowsOf(full.train)));
  EXPECT_EQ(Sorted(test), Sorted(RowsOf(full.test)));
}

TEST(SyntheticTest, EveryItemWhenUsersRateThemAll) {
  config::SyntheticConfig c = Small();
  c.set_num_users(50);
  c.set_num_items(30);
  c.set_ratings_per_user(30);
  c.set_zipf_exponent(3.0);  // the tail is almost never drawn: the stall rule completes sets
  const SyntheticData data = Generate(c, false, 2);
  std::set<std::pair<uint64_t, uint64_t>> pairs;
  for (const Row& r : RowsOf(data.train)) pairs.emplace(std::get<0>(r), std::get<1>(r));
  for (const Row& r : RowsOf(data.test)) pairs.emplace(std::get<0>(r), std::get<1>(r));
  EXPECT_EQ(pairs.size(), 50u * 30);
}

TEST(SyntheticTest, RejectsBadConfigs) {
  config::SyntheticConfig c = Small();
  c.set_ratings_per_user(501);
  auto data = GenerateSynthetic(c, false);
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().message().find("exceeds num_items"), std::string::npos);
  c = Small();
  c.set_rank(0);
  EXPECT_EQ(GenerateSynthetic(c, false).status().code(), Status::Code::kInvalidArgument);
  c = Small();
  c.set_test_fraction(1.0);
  EXPECT_EQ(GenerateSynthetic(c, false).status().code(), Status::Code::kInvalidArgument);
  SyntheticOptions options;
  options.worker = 3;
  options.num_workers = 3;
  EXPECT_EQ(GenerateSynthetic(Small(), false, options).status().code(), Status::Code::kInvalidArgument);
}

// Parses a float32 .npy written by WriteSyntheticTruth: returns the shape text and the data.
std::pair<std::string, std::vector<float>> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  uint16_t header_len = 0;
  std::memcpy(&header_len, bytes.data() + 8, 2);
  EXPECT_EQ((10 + header_len) % 64, 0);
  const std::string header = bytes.substr(10, header_len);
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos);
  EXPECT_EQ(header.back(), '\n');
  const size_t open = header.find("'shape': (");
  const std::string shape = header.substr(open + 10, header.find(')', open) - open - 10);
  std::vector<float> data((bytes.size() - 10 - header_len) / 4);
  std::memcpy(data.data(), bytes.data() + 10 + header_len, data.size() * 4);
  return {shape, data};
}

TEST(SyntheticTest, TruthIsWrittenAsNpy) {
  const SyntheticData data = Generate(Small(), true, 2);
  const std::string dir = testing_util::FreshDir("truth") + "/truth";
  ASSERT_TRUE(WriteSyntheticTruth(data.truth, dir).ok());
  auto [shape, users] = ReadNpy(dir + "/user_factors.npy");
  EXPECT_EQ(shape, "2000, 4");
  EXPECT_EQ(users, data.truth.user_factors);
  auto [bias_shape, bias] = ReadNpy(dir + "/item_bias.npy");
  EXPECT_EQ(bias_shape, "500,");
  EXPECT_EQ(bias, data.truth.item_bias);
  std::ifstream text(dir + "/truth.txt");
  std::string all((std::istreambuf_iterator<char>(text)), {});
  EXPECT_EQ(all, "rank 4\nglobal_mean 3.5\n");
  EXPECT_FALSE(WriteSyntheticTruth(Generate(Small(), false, 2).truth, dir).ok());
}

}  // namespace
}  // namespace psrec::data
