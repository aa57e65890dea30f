#include "common/json.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace psrec {
namespace {

namespace fs = std::filesystem;

// Parses as a strict reader would (throws on bad JSON or bad UTF-8).
Json Parse(const std::string& text) { return Json::parse(text); }

TEST(JsonNumberTest, RoundsToSignificantDigitsAndDropsTrailingZeros) {
  EXPECT_EQ(JsonText(JsonNumber(0.1 + 0.2, 10)), "0.3");
  EXPECT_EQ(JsonText(JsonNumber(0.123456789, 6)), "0.123457");
  EXPECT_EQ(JsonText(JsonNumber(1.5e-7, 6)), "1.5e-07");
  EXPECT_EQ(JsonText(JsonNumber(0.3f, 6)), "0.3");  // a float's tail does not show
}

TEST(JsonNumberTest, WholeNumbersAreIntegers) {
  EXPECT_EQ(JsonText(JsonNumber(3.0, 6)), "3");
  EXPECT_EQ(JsonText(JsonNumber(-0.0, 6)), "0");
  EXPECT_EQ(JsonText(JsonNumber(1234567890.0, 10)), "1234567890");
  // Rounding can make a whole number of a fraction: 2.9999999 at 6 digits is 3.
  EXPECT_EQ(JsonText(JsonNumber(2.9999999, 6)), "3");
  // Past 2^53 a double is no longer an exact integer; it stays a double.
  EXPECT_TRUE(JsonNumber(1e17, 10).is_number_float());
  EXPECT_EQ(Parse(JsonText(JsonNumber(1e17, 10))).get<double>(), 1e17);
}

TEST(JsonNumberTest, NonFiniteIsNull) {
  for (double v : {std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    EXPECT_EQ(JsonText(JsonNumber(v, 10)), "null");
    EXPECT_EQ(JsonText(JsonFixed(v, 2)), "null");
  }
}

TEST(JsonFixedTest, RoundsToDecimals) {
  EXPECT_EQ(JsonText(JsonFixed(0.123456, 4)), "0.1235");
  EXPECT_EQ(JsonText(JsonFixed(2.5, 4)), "2.5");
  EXPECT_EQ(JsonText(JsonFixed(1234567.6, 0)), "1234568");
  EXPECT_EQ(JsonText(JsonFixed(-1, 3)), "-1");
  EXPECT_EQ(JsonText(JsonFixed(1e300, 2)), JsonText(Json(1e300)));  // the widest fixed form
}

TEST(JsonTextTest, KeysKeepTheirOrder) {
  Json j;
  j["zeta"] = 1;
  j["alpha"] = 2;
  j["mid"] = Json::array({1, 2});
  EXPECT_EQ(JsonText(j), R"({"zeta":1,"alpha":2,"mid":[1,2]})");
}

TEST(JsonTextTest, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string nasty = "run \"dir\"\\sub\nline\ttab\x01 end";
  Json j{{"path", nasty}};
  const std::string text = JsonText(j);
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;  // still one line
  EXPECT_EQ(Parse(text)["path"], nasty);
}

TEST(JsonTextTest, ValidUtf8PassesThrough) {
  const std::string title = "Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xAC";  // é € 🎬
  const std::string text = JsonText(Json{{"name", title}});
  EXPECT_EQ(text, "{\"name\":\"" + title + "\"}");
  EXPECT_EQ(Parse(text)["name"], title);
}

TEST(JsonTextTest, InvalidUtf8BecomesReplacementCharacterInsteadOfThrowing) {
  const std::string latin1 = "Caf\xE9 au lait";  // a Latin-1 id
  const std::string text = JsonText(Json{{"id", latin1}});
  EXPECT_EQ(Parse(text)["id"], "Caf\xEF\xBF\xBD au lait");  // U+FFFD where 0xE9 was
}

TEST(Utf8Test, RecognizesWellFormedUtf8) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain ascii"));
  EXPECT_TRUE(IsUtf8("\xC3\xA9\xE2\x82\xAC\xF4\x8F\xBF\xBF"));  // é € U+10FFFF
  EXPECT_FALSE(IsUtf8("\xE9"));              // Latin-1 é
  EXPECT_FALSE(IsUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsUtf8("\xE0\x80\xAF"));      // overlong, 3 bytes
  EXPECT_FALSE(IsUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(IsUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsUtf8("\x80"));              // a lone continuation byte
}

TEST(Utf8Test, Latin1IsConvertedAndUtf8KeptAsItIs) {
  EXPECT_EQ(Utf8OrLatin1("Caf\xE9"), "Caf\xC3\xA9");
  EXPECT_EQ(Utf8OrLatin1("\xFF\xA0"), "\xC3\xBF\xC2\xA0");
  EXPECT_EQ(Utf8OrLatin1("Caf\xC3\xA9"), "Caf\xC3\xA9");  // already UTF-8: not converted twice
  EXPECT_EQ(Parse(JsonText(Json(Utf8OrLatin1("Caf\xE9")))), "Caf\xC3\xA9");
}

class JsonFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("psrec_json_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(JsonFileTest, WritesOneLinePerValue) {
  const std::string path = (dir_ / "a.jsonl").string();
  std::FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(WriteJsonLine(file, path, Json{{"epoch", 1}}).ok());
  ASSERT_TRUE(WriteJsonLine(file, path, Json{{"epoch", 2}}).ok());
  std::fclose(file);
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  EXPECT_EQ(all.str(), "{\"epoch\":1}\n{\"epoch\":2}\n");
}

TEST_F(JsonFileTest, WriteFileReplacesAndFailureNamesThePath) {
  const std::string path = (dir_ / "summary.json").string();
  ASSERT_TRUE(WriteJsonFile(path, Json{{"old", true}, {"longer", "text"}}).ok());
  ASSERT_TRUE(WriteJsonFile(path, Json{{"new", 1}}).ok());
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "{\"new\":1}");

  const std::string missing = (dir_ / "no-such-dir" / "summary.json").string();
  Status s = WriteJsonFile(missing, Json{{"new", 1}});
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
}

}  // namespace
}  // namespace psrec
