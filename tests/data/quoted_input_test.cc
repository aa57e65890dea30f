// Text as people have it: RFC 4180 quoting, CR / LF / CRLF line endings, header columns by
// name, and string ids for every non-canonical integer form.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/keys.h"
#include "data/line_parser.h"
#include "data/line_scanner.h"
#include "data/quoted_fields.h"
#include "data/text_reader.h"

namespace psrec::data {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Split(std::string_view record, char d, QuoteError* error = nullptr) {
  std::vector<std::string> fields;
  QuoteError e = SplitQuoted(record, d, &fields);
  if (error != nullptr) *error = e;
  return fields;
}

TEST(QuotedFieldsTest, QuotedFieldsDoubledQuotesAndDelimitersInside) {
  EXPECT_THAT(Split(R"("a";"b;c";"say ""hi""")", ';'), ElementsAre("a", "b;c", "say \"hi\""));
  EXPECT_THAT(Split(R"(1,"",,"5")", ','), ElementsAre("1", "", "", "5"));
  EXPECT_THAT(Split(R"(x,"")", ','), ElementsAre("x", ""));
  EXPECT_THAT(Split("a,", ','), ElementsAre("a", ""));
  EXPECT_THAT(Split("", ','), ElementsAre(""));
  // A quote inside an unquoted field is a plain byte.
  EXPECT_THAT(Split(R"(5" screen,2)", ','), ElementsAre("5\" screen", "2"));
  // CRLF inside a quoted field stays in it; a CR after the last closing quote ends the line.
  EXPECT_THAT(Split("\"a\r\nb\",\"3\"\r", ','), ElementsAre("a\r\nb", "3"));
}

TEST(QuotedFieldsTest, MalformedQuotesAreNamed) {
  QuoteError error;
  Split(R"(1,"abc)", ',', &error);
  EXPECT_EQ(error, QuoteError::kUnterminated);
  Split(R"(1,"ab"c,3)", ',', &error);
  EXPECT_EQ(error, QuoteError::kTextAfterQuote);
  Split(R"(1,"a""")", ',', &error);
  EXPECT_EQ(error, QuoteError::kNone);
}

TEST(QuotedFieldsTest, QuoteOpenAtEndFollowsTheFields) {
  EXPECT_TRUE(QuoteOpenAtEnd(R"(1;"abc)", ';'));
  EXPECT_TRUE(QuoteOpenAtEnd(R"(1;"a"";b)", ';'));
  EXPECT_FALSE(QuoteOpenAtEnd(R"(1;"a""";b)", ';'));
  EXPECT_FALSE(QuoteOpenAtEnd(R"(1;a"b;c)", ';'));  // not at a field start
  EXPECT_FALSE(QuoteOpenAtEnd("", ';'));
}

TEST(LineEndingsTest, DetectTerminator) {
  EXPECT_EQ(DetectTerminator("1 2 3\n4 5 6\n"), '\n');
  EXPECT_EQ(DetectTerminator("1 2 3\r\n4 5 6\r\n"), '\n');
  EXPECT_EQ(DetectTerminator("1 2 3\r4 5 6\r"), '\r');
  EXPECT_EQ(DetectTerminator("1 2 3"), '\n');
  EXPECT_EQ(DetectTerminator("a\rb\n"), '\n');  // a stray CR in a LF file
}

TEST(IdFormTest, OnlyCanonicalIntegersAreIntegerIds) {
  uint64_t key = 0;
  bool is_string = false;
  ASSERT_EQ(ParseIdField("155061224", &key, &is_string), LineError::kNone);
  EXPECT_FALSE(is_string);
  EXPECT_EQ(key, 155061224u);
  ASSERT_EQ(ParseIdField("0", &key, &is_string), LineError::kNone);
  EXPECT_FALSE(is_string);
  for (const char* id : {"0155061224", "00", "+5", "1e3", "034545104X", "ü"}) {
    ASSERT_EQ(ParseIdField(id, &key, &is_string), LineError::kNone) << id;
    EXPECT_TRUE(is_string) << id;
    EXPECT_EQ(key, KeyOfRawId(id)) << id;
    EXPECT_NE(key >> 63, 0u) << id;
  }
  EXPECT_NE(KeyOfRawId("0155061224"), KeyOfRawId("155061224"));
  EXPECT_EQ(KeyOfRawId("155061224"), 155061224u);
}

class QuotedInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("psrec_quoted_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& text) {
    path_ = (dir_ / "in.csv").string();
    std::ofstream(path_, std::ios::binary) << text;
    return path_;
  }
  static config::DataConfig Delimited(const std::string& delimiter, bool header) {
    config::DataConfig data;
    data.set_format(config::DELIMITED);
    data.mutable_delimited()->set_delimiter(delimiter);
    data.mutable_delimited()->set_header(header);
    return data;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(QuotedInputTest, FullyQuotedSemicolonDumpWithCrOnlyEndingsAndIsbnIds) {
  Write("\"User-ID\";\"ISBN\";\"Book-Rating\"\r"
        "\"276725\";\"034545104X\";\"0\"\r"
        "\"276726\";\"0155061224\";\"5\"\r"
        "\"276727\";\"155061224\";\"3\"\r"
        "\"276727\";\"a \"\"b\"\"; c\";\"7\"");  // quote at the end of the file, no CR
  config::DataConfig data = Delimited(";", true);
  data.mutable_delimited()->set_item_column_name("isbn");  // header names, any case
  data.mutable_delimited()->set_user_column_name("User-ID");
  data.mutable_delimited()->set_rating_column_name("Book-Rating");
  ReadReport report;
  auto r = ReadRatingsFile(path_, data, &report);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(report.lines, 5);
  EXPECT_EQ(r->rating, (std::vector<float>{0, 5, 3, 7}));
  EXPECT_THAT(r->item_names, ElementsAre("034545104X", "0155061224", "155061224", "a \"b\"; c"));
  EXPECT_EQ(r->item_ids[2], 155061224u);
  EXPECT_NE(r->item_ids[1], r->item_ids[2]);
  EXPECT_EQ(r->user_ids, (std::vector<uint64_t>{276725, 276726, 276727}));
}

TEST_F(QuotedInputTest, CrlfInsideQuotesJoinsLinesAndCountsThem) {
  Write("\"1\",\"multi\r\nline\",\"4\"\r\n\"2\",\"x\",\"3\"\r\n\"3\",\"bad\r\n");
  auto r = ReadRatingsFile(path_, Delimited(",", false), nullptr);
  ASSERT_FALSE(r.ok());
  // The unterminated quote is named by the line that opened it.
  EXPECT_THAT(r.status().message(), HasSubstr("in.csv:4: unterminated quoted field"));

  Write("\"1\",\"multi\r\nline\",\"4\"\r\n\"2\",\"x\",\"3\"\r\n");
  ReadReport report;
  r = ReadRatingsFile(path_, Delimited(",", false), &report);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(r->item_names, ElementsAre("multi\r\nline", "x"));
  EXPECT_EQ(report.lines, 3);
}

TEST_F(QuotedInputTest, MultiLineRecordsAcrossChunkCutsReadAsOnePiece) {
  std::string text;
  for (int i = 1; i <= 2000; ++i) {
    text += std::to_string(i) + ",\"item\n" + std::to_string(i % 7) + "\",4\n";
  }
  Write(text);
  TextReadOptions options;
  options.threads = 4;
  options.min_chunk_bytes = 64;
  auto r = ReadRatingsFile(path_, Delimited(",", false), nullptr, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 2000u);
  EXPECT_EQ(r->item_ids.size(), 7u);
  EXPECT_EQ(r->item_names[0], "item\n1");
}

TEST_F(QuotedInputTest, TextAfterClosingQuoteNamesTheLine) {
  Write("1,2,3\n1,\"2\"x,3\n");
  auto r = ReadRatingsFile(path_, Delimited(",", false), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("in.csv:2: text after the closing quote"));
}

TEST_F(QuotedInputTest, HeaderColumnThatDoesNotExistListsTheHeader) {
  Write("a;b;c\n1;2;3\n");
  config::DataConfig data = Delimited(";", true);
  data.mutable_delimited()->set_rating_column_name("stars");
  auto r = ReadRatingsFile(path_, data, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("has no column 'stars'"));
}

TEST_F(QuotedInputTest, TooLongLineHintsAtLineEndings) {
  Write("1 2 3\n" + std::string(200, '7') + "\n");
  TextReadOptions options;
  options.max_line_bytes = 64;
  auto r = ReadRatingsFile(path_, config::DataConfig(), nullptr, options);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr(":2: line is longer than 64 bytes (line endings"));
}

TEST_F(QuotedInputTest, AutoReadsLibmfWithATextFirstId) {
  Write("\xc3\xbc 2 3\n7 2 4\n");
  auto r = ReadRatingsFile(path_, config::DataConfig(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->user_names[0], "\xc3\xbc");
  // A header line is refused as a rating that is not a number, on line 1.
  Write("user item rating\n1 2 3\n");
  r = ReadRatingsFile(path_, config::DataConfig(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr(":1: rating 'rating' is not a number"));
}

TEST_F(QuotedInputTest, Latin1IdsAreKeptAsBytes) {
  Write("\"M\xfcller\";\"1\";\"2\"\n");
  auto r = ReadRatingsFile(path_, Delimited(";", false), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->user_names[0], "M\xfcller");
}

}  // namespace
}  // namespace psrec::data
