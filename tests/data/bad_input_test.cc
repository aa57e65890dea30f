// Every kind of bad input of issue #2: each is one "file:line: reason" error, never a crash,
// or is accepted where the issue says so (CRLF, BOM, trailing blank lines, a complete last
// line without '\n').
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "data/text_reader.h"

namespace psrec::data {
namespace {

namespace fs = std::filesystem;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("psrec_bad_input_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& text, const std::string& name = "in.txt") {
    path_ = (dir_ / name).string();
    std::ofstream(path_, std::ios::binary) << text;
    return path_;
  }

  // Reads the last written file; expects failure at `line` with `reason` in the message.
  void ExpectError(config::DataFormat format, int line, const std::string& reason,
                   TextReadOptions options = {}) {
    config::DataConfig data;
    data.set_format(format);
    data.set_min_rating(0.5f);
    data.set_max_rating(5.0f);
    auto r = ReadRatingsFile(path_, data, nullptr, options);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    const std::string& msg = r.status().message();
    EXPECT_EQ(msg.rfind(path_ + ":" + std::to_string(line) + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(reason), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
  }

  Result<RatingColumns> Read(config::DataFormat format, TextReadOptions options = {}) {
    config::DataConfig data;
    data.set_format(format);
    return ReadRatingsFile(path_, data, nullptr, options);
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(BadInputTest, MissingFileIsNotFound) {
  const std::string path = (dir_ / "nope.txt").string();
  auto r = ReadRatingsFile(path, config::DataConfig(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
  EXPECT_NE(r.status().message().find(path), std::string::npos);
}

TEST_F(BadInputTest, EmptyFileAndBlankOnlyFile) {
  Write("");
  ExpectError(config::AUTO, 1, "file is empty");
  Write("\n  \n\r\n");
  ExpectError(config::LIBMF, 1, "no ratings");
}

TEST_F(BadInputTest, WrongDelimiter) {
  Write("1,2,3,4\n5,6,7,8\n");
  ExpectError(config::MOVIELENS_TSV, 1, "found 1 (wrong delimiter or --format?)");
  Write("1\t2\t3\t4\n");
  ExpectError(config::MOVIELENS_DAT, 1, "expects 4 '::'-separated fields, found 1");
}

TEST_F(BadInputTest, WrongColumnCount) {
  Write("1\t2\t3\t4\n1\t2\t3\t4\n1\t2\t3\n");
  ExpectError(config::MOVIELENS_TSV, 3, "expects 4 tab-separated fields, found 3");
  Write("1 2 3\n1 2 3 4\n");
  ExpectError(config::LIBMF, 2, "found 4");
  Write("userId,movieId,rating\n1,2,3\n1,2\n", "r.csv");
  ExpectError(config::AUTO, 3, "expects 3 ','-separated fields, found 2");
}

TEST_F(BadInputTest, NonNumericNanAndInfRatings) {
  Write("1 2 3\n1 2 four\n");
  ExpectError(config::LIBMF, 2, "rating 'four' is not a number");
  Write("1 2 3\n1 2 3\n1 2 NaN\n");
  ExpectError(config::LIBMF, 3, "rating 'NaN' is not a finite number");
  Write("1 2 inf\n");
  ExpectError(config::LIBMF, 1, "rating 'inf' is not a finite number");
  Write("1 2 1e39\n");
  ExpectError(config::LIBMF, 1, "is not a finite number");
}

TEST_F(BadInputTest, RatingOutsideTheRange) {
  Write("1 2 3\n1 2 5.5\n");
  ExpectError(config::LIBMF, 2, "rating '5.5' is outside the range [0.5, 5]");
  Write("1 2 0\n");
  ExpectError(config::LIBMF, 1, "outside the range");
}

TEST_F(BadInputTest, NegativeAndOverflowingIds) {
  Write("1 2 3\n-1 2 3\n");
  ExpectError(config::LIBMF, 2, "user id is negative: '-1'");
  Write("1 -2 3\n");
  ExpectError(config::LIBMF, 1, "item id is negative: '-2'");
  Write("1 2 3\n9223372036854775808 2 3\n");
  ExpectError(config::LIBMF, 2, "user id overflows 63 bits: '9223372036854775808'");
  Write("1 123456789012345678901234567890 3\n");
  ExpectError(config::LIBMF, 1, "id overflows");
  Write("1\t\t3\t4\n");
  ExpectError(config::MOVIELENS_TSV, 1, "empty item id");
}

TEST_F(BadInputTest, BadTimestamp) {
  Write("1::2::3::4\n1::2::3::yesterday\n");
  ExpectError(config::AUTO, 2, "timestamp 'yesterday' is not an integer");
}

TEST_F(BadInputTest, CrlfBomAndTrailingBlankLinesAreAccepted) {
  Write("\xEF\xBB\xBF" "1\t2\t3\t100\r\n4\t5\t2\t101\r\n\r\n\n   \n", "u.data");
  auto r = Read(config::AUTO);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->user_ids, (std::vector<uint64_t>{1, 4}));
  EXPECT_EQ(r->timestamp, (std::vector<int64_t>{100, 101}));
  Write("\xEF\xBB\xBFuserId,movieId,rating\r\n7,8,4.5\r\n", "r.csv");
  auto csv = Read(config::AUTO);
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_EQ(csv->rating, (std::vector<float>{4.5f}));
}

TEST_F(BadInputTest, TenMegabyteLineFailsWithBoundedMemory) {
  std::string text = "1 2 3\n1 2 3\n";
  text += "1 2 " + std::string(10 << 20, '7') + "\n";
  text += "4 5 1\n";
  Write(text);
  ExpectError(config::LIBMF, 3, "line is longer than 1048576 bytes");
  ExpectError(config::LIBMF, 3, "line is longer than", {2, 1, 1 << 20});
  // The same line as the last one, without '\n'.
  Write("1 2 3\n" + std::string(10 << 20, 'x'));
  ExpectError(config::LIBMF, 2, "line is longer than");
}

TEST_F(BadInputTest, TenMegabyteLineIsSkippedWhenAsked) {
  Write("1 2 3\n" + std::string(10 << 20, ' ') + "x\n4 5 1\n");
  config::DataConfig data;
  data.set_format(config::LIBMF);
  data.set_skip_bad_lines(true);
  ReadReport report;
  auto r = ReadRatingsFile(path_, data, &report);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 2u);
  EXPECT_EQ(report.skipped_by_reason["line too long"], 1);
}

TEST_F(BadInputTest, TruncatedLastLine) {
  Write("1 2 3\n4 5 2");
  auto complete = Read(config::LIBMF);
  ASSERT_TRUE(complete.ok()) << complete.status().ToString();
  EXPECT_EQ(complete->rating, (std::vector<float>{3, 2}));
  Write("1\t2\t3\t4\n4\t5\t2");
  ExpectError(config::MOVIELENS_TSV, 2, "found 3");
  Write("1 2 3\n4 5 2.");  // "2." is still a number
  ASSERT_TRUE(Read(config::LIBMF).ok());
  Write("1 2 3\n4 5");
  ExpectError(config::LIBMF, 2, "found 2", {2, 1, 1 << 20});
}

TEST_F(BadInputTest, FirstBadLineWinsAcrossChunks) {
  std::string text;
  for (int i = 1; i <= 4000; ++i) {
    text += i == 1234 ? "x y\n" : i == 3900 ? "1 2 -\n" : "1 2 3\n";
  }
  Write(text);
  ExpectError(config::LIBMF, 1234, "found 2", {4, 1, 1 << 20});
}

// Issue #14: a binary file read as ratings. The message quotes the offending line with its
// bytes escaped and cut, so nothing reaches the terminal that it would act on.
bool PrintableAscii(const std::string& s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  }
  return true;
}

std::string EveryByteButNewline(int copies) {
  std::string bytes;
  for (int k = 0; k < copies; ++k) {
    for (int b = 0; b < 256; ++b) {
      if (b != '\n') bytes += static_cast<char>(b);
    }
  }
  return bytes;
}

TEST_F(BadInputTest, BinaryGarbageIsEscapedAndCutInMessages) {
  Write("1 10 5\n" + EveryByteButNewline(4) + "\n");
  ExpectError(config::LIBMF, 2, "in '\\x00\\x01\\x02");
  auto r = Read(config::LIBMF);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(PrintableAscii(r.status().message())) << r.status().message();
  EXPECT_LT(r.status().message().size(), path_.size() + 400) << r.status().message();

  // Format detection quotes the first line.
  Write(EveryByteButNewline(1) + "\n1 10 5\n");
  r = Read(config::AUTO);
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.status().message();
  EXPECT_EQ(msg.rfind(path_ + ":1: cannot detect the format from '\\x00\\x01", 0), 0u) << msg;
  EXPECT_NE(msg.find("\\x1b"), std::string::npos) << msg;
  EXPECT_TRUE(PrintableAscii(msg)) << msg;

  // A bad rating field, with an escape sequence in it.
  Write("1 10 \x1b[2J\xff\n");
  ExpectError(config::LIBMF, 1, "rating '\\x1b[2J\\xff' is not a number");
}

TEST_F(BadInputTest, DirectoryIsRefused) {
  auto r = ReadRatingsFile(dir_.string(), config::DataConfig(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind(dir_.string() + ": is a directory", 0), 0u)
      << r.status().message();
}

}  // namespace
}  // namespace psrec::data
