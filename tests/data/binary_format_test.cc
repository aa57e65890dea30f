#include "data/binary_format.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/checksum.h"
#include "common/keys.h"
#include "tests/data/ratings_testutil.h"

namespace psrec::data {
namespace {

using testing_util::FreshDir;
using testing_util::RandomColumns;
using testing_util::Row;
using testing_util::RowsOf;
using testing_util::Sorted;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The ratings of `c` whose user falls in `part` of `parts`, in source order.
std::vector<Row> RowsOfPart(const RatingColumns& c, int part, int parts) {
  std::vector<Row> rows;
  for (const Row& row : RowsOf(c)) {
    if (PartitionOfUser(std::get<0>(row), parts) == part) rows.push_back(row);
  }
  return rows;
}

TEST(Checksum64Test, AnySplitOfTheStreamGivesTheSameValue) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  const uint64_t whole = Checksum64::Of(data.data(), data.size());
  for (size_t cut : {0, 1, 7, 31, 32, 33, 500, 999}) {
    Checksum64 c;
    c.Update(data.data(), cut);
    c.Update(data.data() + cut, data.size() - cut);
    EXPECT_EQ(c.Finish(), whole) << cut;
  }
  EXPECT_NE(Checksum64::Of(data.data(), 999), whole);  // length counts
  for (size_t i : {0, 8, 31, 32, 998, 999}) {
    std::string flipped = data;
    flipped[i] ^= 1;
    EXPECT_NE(Checksum64::Of(flipped.data(), flipped.size()), whole) << i;
  }
}

class PreparedRoundTripTest : public ::testing::TestWithParam<int> {};

TEST_P(PreparedRoundTripTest, EveryRatingComesBackInItsUsersPart) {
  const int parts = GetParam();
  const RatingColumns train = RandomColumns(1, 300, 200, 5000, /*timestamps=*/true, /*names=*/true);
  const RatingColumns test = RandomColumns(2, 100, 50, 700, true, false);
  const std::string dir = FreshDir("prepared");
  PrepareOptions options;
  options.parts = parts;
  ASSERT_TRUE(WritePrepared(train, &test, options, dir).ok());

  auto info = ReadPreparedInfo(dir);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->parts, parts);
  EXPECT_TRUE(info->has_test);
  EXPECT_TRUE(info->has_timestamps);
  EXPECT_TRUE(info->has_names);
  EXPECT_EQ(info->train_ratings, 5000);
  EXPECT_EQ(info->test_ratings, 700);
  std::set<uint32_t> train_users(train.user_index.begin(), train.user_index.end());
  std::set<uint32_t> train_items(train.item_index.begin(), train.item_index.end());
  EXPECT_EQ(info->train_users, static_cast<int64_t>(train_users.size()));
  EXPECT_EQ(info->train_items, static_cast<int64_t>(train_items.size()));

  for (const auto& [split, source] : {std::pair{"train", &train}, std::pair{"test", &test}}) {
    std::vector<Row> all;
    for (int p = 0; p < parts; ++p) {
      auto shard = OpenPreparedPart(dir, split, p, parts);
      ASSERT_TRUE(shard.ok()) << shard.status().ToString();
      // Values, order, timestamps, and dictionaries made of this part's users only.
      EXPECT_EQ(RowsOf(*shard), RowsOfPart(*source, p, parts)) << split << " part " << p;
      for (uint64_t user : shard->user_ids) EXPECT_EQ(PartitionOfUser(user, parts), p);
      std::set<uint32_t> used_users(shard->user_index.begin(), shard->user_index.end());
      std::set<uint32_t> used_items(shard->item_index.begin(), shard->item_index.end());
      EXPECT_EQ(used_users.size(), shard->user_ids.size());
      EXPECT_EQ(used_items.size(), shard->item_ids.size());
      const auto& part_info = std::string(split) == "train" ? info->train[p] : info->test[p];
      EXPECT_EQ(part_info.ratings, static_cast<int64_t>(shard->size()));
      EXPECT_EQ(part_info.users, static_cast<int64_t>(shard->user_ids.size()));
      EXPECT_EQ(part_info.bytes, std::filesystem::file_size(PreparedPartPath(dir, split, p)));
      // Names travel with their keys: user u's key is u or random, its name "user-<index>".
      if (source == &train) {
        ASSERT_EQ(shard->user_names.size(), shard->user_ids.size());
        ASSERT_EQ(shard->item_names.size(), shard->item_ids.size());
        for (size_t u = 0; u < shard->user_ids.size(); ++u) {
          size_t index = std::find(train.user_ids.begin(), train.user_ids.end(), shard->user_ids[u]) -
                         train.user_ids.begin();
          EXPECT_EQ(shard->user_names[u], train.user_names[index]);
        }
        for (size_t i = 0; i < shard->item_ids.size(); ++i) {
          size_t index = std::find(train.item_ids.begin(), train.item_ids.end(), shard->item_ids[i]) -
                         train.item_ids.begin();
          EXPECT_EQ(shard->item_names[i], train.item_names[index]);
        }
      } else {
        EXPECT_TRUE(shard->user_names.empty());
        EXPECT_TRUE(shard->item_names.empty());
      }
      testing_util::Append(&all, RowsOf(*shard));
    }
    EXPECT_EQ(Sorted(all), Sorted(RowsOf(*source))) << split;  // each rating in exactly one part
  }
}

INSTANTIATE_TEST_SUITE_P(Parts, PreparedRoundTripTest, ::testing::Values(1, 3, 8));

TEST(PreparedTest, WithoutTestOrTimestampsAndWithEmptyParts) {
  const RatingColumns train = RandomColumns(3, 4, 10, 50, false, false);
  const std::string dir = FreshDir("prepared");
  PrepareOptions options;
  options.parts = 16;  // more parts than users: most are empty
  ASSERT_TRUE(WritePrepared(train, nullptr, options, dir).ok());
  auto info = ReadPreparedInfo(dir);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_FALSE(info->has_test);
  EXPECT_FALSE(info->has_timestamps);
  EXPECT_TRUE(info->test.empty());
  std::vector<Row> all;
  for (int p = 0; p < 16; ++p) {
    auto shard = OpenPreparedPart(dir, "train", p, -1);
    ASSERT_TRUE(shard.ok()) << shard.status().ToString();
    EXPECT_TRUE(shard->timestamp.empty());
    testing_util::Append(&all, RowsOf(*shard));
  }
  EXPECT_EQ(Sorted(all), Sorted(RowsOf(train)));
  EXPECT_EQ(OpenPreparedPart(dir, "test", 0, 16).status().code(), Status::Code::kNotFound);
}

TEST(PreparedTest, RejectsInconsistentColumns) {
  RatingColumns train = RandomColumns(4, 5, 5, 20, false, false);
  train.item_index[3] = 5;
  EXPECT_EQ(WritePrepared(train, nullptr, {}, FreshDir("p")).code(),
            Status::Code::kInvalidArgument);
  train.item_index[3] = 0;
  train.rating.pop_back();
  EXPECT_EQ(WritePrepared(train, nullptr, {}, FreshDir("p")).code(),
            Status::Code::kInvalidArgument);
  PrepareOptions zero;
  zero.parts = 0;
  EXPECT_EQ(WritePrepared(RandomColumns(4, 5, 5, 20, false, false), nullptr, zero, FreshDir("p")).code(),
            Status::Code::kInvalidArgument);
}

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("prepared");
    PrepareOptions options;
    options.parts = 2;
    ASSERT_TRUE(WritePrepared(RandomColumns(5, 50, 40, 2000, true, false), nullptr, options, dir_).ok());
    path_ = PreparedPartPath(dir_, "train", 1);
    bytes_ = ReadBytes(path_);
    ASSERT_TRUE(OpenPreparedPart(dir_, "train", 1, 2).ok());
  }

  // Opens part 1 after replacing its bytes; expects Corruption naming the file and `what`.
  void ExpectCorruption(const std::string& bytes, const std::string& what) {
    WriteBytes(path_, bytes);
    auto shard = OpenPreparedPart(dir_, "train", 1, 2);
    ASSERT_FALSE(shard.ok()) << what;
    EXPECT_EQ(shard.status().code(), Status::Code::kCorruption) << shard.status().ToString();
    EXPECT_NE(shard.status().message().find(path_), std::string::npos) << shard.status().message();
    EXPECT_NE(shard.status().message().find(what), std::string::npos) << shard.status().message();
  }

  std::string dir_, path_, bytes_;
};

TEST_F(CorruptionTest, Truncated) {
  ExpectCorruption(bytes_.substr(0, bytes_.size() - 1), "truncated");
  ExpectCorruption(bytes_.substr(0, 100), "truncated");
  ExpectCorruption("", "truncated");
}

TEST_F(CorruptionTest, TrailingBytes) { ExpectCorruption(bytes_ + "x", "unexpected bytes"); }

TEST_F(CorruptionTest, FlippedPayloadByteFailsTheChecksum) {
  for (size_t at : {size_t{128}, bytes_.size() / 2, bytes_.size() - 1}) {
    std::string flipped = bytes_;
    flipped[at] ^= 0x10;
    ExpectCorruption(flipped, "checksum mismatch");
  }
}

TEST_F(CorruptionTest, FlippedHeaderByteFailsTheHeaderChecksum) {
  std::string flipped = bytes_;
  flipped[40] ^= 0x01;  // inside the ratings count
  ExpectCorruption(flipped, "header checksum mismatch");
}

TEST_F(CorruptionTest, BadMagic) {
  std::string bad = bytes_;
  bad[0] = 'X';
  ExpectCorruption(bad, "bad magic");
}

TEST_F(CorruptionTest, WrongVersion) {
  std::string bad = bytes_;
  bad[8] = 2;  // u32 version, little-endian
  ExpectCorruption(bad, "unsupported version 2");
}

TEST_F(CorruptionTest, PartCountMismatchIsAnArgumentError) {
  auto shard = OpenPreparedPart(dir_, "train", 1, 3);
  ASSERT_FALSE(shard.ok());
  EXPECT_EQ(shard.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(shard.status().message().find("prepared for 2 parts"), std::string::npos);
  EXPECT_EQ(OpenPreparedPart(dir_, "valid", 1, 2).status().code(), Status::Code::kInvalidArgument);
}

TEST_F(CorruptionTest, PartFileSwappedForAnother) {
  WriteBytes(path_, ReadBytes(PreparedPartPath(dir_, "train", 0)));
  auto shard = OpenPreparedPart(dir_, "train", 1, 2);
  ASSERT_FALSE(shard.ok());
  EXPECT_NE(shard.status().message().find("expected part 1"), std::string::npos)
      << shard.status().message();
}

TEST_F(CorruptionTest, ManifestProblems) {
  const std::string manifest = dir_ + "/MANIFEST";
  const std::string good = ReadBytes(manifest);
  WriteBytes(manifest, "psrec-prepared 9\n" + good.substr(good.find('\n') + 1));
  auto info = ReadPreparedInfo(dir_);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.status().message().find("unsupported version 9"), std::string::npos);
  WriteBytes(manifest, good.substr(0, good.size() - 5));
  EXPECT_EQ(ReadPreparedInfo(dir_).status().code(), Status::Code::kCorruption);
  WriteBytes(manifest, good + "extra 1\n");
  EXPECT_EQ(ReadPreparedInfo(dir_).status().code(), Status::Code::kCorruption);
  std::filesystem::remove(manifest);
  info = ReadPreparedInfo(dir_);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), Status::Code::kNotFound);
  EXPECT_NE(info.status().message().find("not a prepared data directory"), std::string::npos);
}

}  // namespace
}  // namespace psrec::data
