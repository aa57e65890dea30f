// QuoteForMessage: what an error message shows of a data file's bytes (issue #14: binary
// garbage was echoed raw to the terminal).
#include "data/message_quote.h"

#include <string>

#include <gtest/gtest.h>

namespace psrec::data {
namespace {

TEST(QuoteForMessageTest, PlainTextIsQuotedAsIs) {
  EXPECT_EQ(QuoteForMessage("four"), "'four'");
  EXPECT_EQ(QuoteForMessage(""), "''");
}

TEST(QuoteForMessageTest, WhitespaceAndBackslashGetNamedEscapes) {
  EXPECT_EQ(QuoteForMessage("a\tb\r\n\\"), "'a\\tb\\r\\n\\\\'");
}

TEST(QuoteForMessageTest, ControlBytesAndDelAreHexEscaped) {
  EXPECT_EQ(QuoteForMessage(std::string("\x1b[2J\x07\x7f\0x", 8)), "'\\x1b[2J\\x07\\x7f\\x00x'");
}

TEST(QuoteForMessageTest, BytesOutsideWellFormedUtf8AreHexEscaped) {
  EXPECT_EQ(QuoteForMessage("\xff\xfe"), "'\\xff\\xfe'");
  EXPECT_EQ(QuoteForMessage("\xc0\xaf"), "'\\xc0\\xaf'");          // overlong '/'
  EXPECT_EQ(QuoteForMessage("\xed\xa0\x80"), "'\\xed\\xa0\\x80'");  // a surrogate
  EXPECT_EQ(QuoteForMessage("\xf4\x90\x80\x80"), "'\\xf4\\x90\\x80\\x80'");  // > U+10FFFF
  EXPECT_EQ(QuoteForMessage("ab\xc3"), "'ab\\xc3'");               // cut short
  EXPECT_EQ(QuoteForMessage("\x80x"), "'\\x80x'");                 // a lone continuation
}

TEST(QuoteForMessageTest, WellFormedUtf8StaysReadable) {
  EXPECT_EQ(QuoteForMessage("Am\xc3\xa9lie"), "'Am\xc3\xa9lie'");
  EXPECT_EQ(QuoteForMessage("\xe6\x9d\xb1\xe4\xba\xac"), "'\xe6\x9d\xb1\xe4\xba\xac'");
  EXPECT_EQ(QuoteForMessage("\xf0\x9f\x8e\xac"), "'\xf0\x9f\x8e\xac'");
}

TEST(QuoteForMessageTest, C1ControlsAndBidiOverridesAreEscaped) {
  EXPECT_EQ(QuoteForMessage("\xc2\x9b" "31m"), "'\\xc2\\x9b31m'");  // U+009B, CSI
  EXPECT_EQ(QuoteForMessage("a\xe2\x80\xae" "b"), "'a\\xe2\\x80\\xaeb'");  // U+202E
}

TEST(QuoteForMessageTest, LongTextIsCut) {
  EXPECT_EQ(QuoteForMessage(std::string(kQuotedBytes, 'a')),
            "'" + std::string(kQuotedBytes, 'a') + "'");
  EXPECT_EQ(QuoteForMessage(std::string(100, 'a')),
            "'" + std::string(kQuotedBytes, 'a') + "...'");
  // A character that starts inside the shown bytes is kept whole.
  EXPECT_EQ(QuoteForMessage(std::string(kQuotedBytes - 1, 'a') + "\xc3\xa9z"),
            "'" + std::string(kQuotedBytes - 1, 'a') + "\xc3\xa9...'");
  // The worst case: every shown byte escaped.
  EXPECT_EQ(QuoteForMessage(std::string(1000, '\x01')).size(), 2 + 4 * kQuotedBytes + 3);
}

}  // namespace
}  // namespace psrec::data
