// Regression tests for inputs found by the fuzz targets (fuzz/fuzz_line_parser.cc).
#include "data/line_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "data/format_detect.h"

namespace psrec::data {
namespace {

LineParser TsvParser() {
  config::DataConfig data;
  data.set_format(config::MOVIELENS_TSV);
  auto layout = ResolveLayout("u.data", "1\t10\t4\t1700000000", data);
  EXPECT_TRUE(layout.ok()) << layout.status().message();
  return LineParser(*layout, 0.5f, 5.0f);
}

// A timestamp of 19+ digits overflowed int64 in the fast path (undefined behaviour, caught
// by UBSan) before the length check refused it; the line must be a bad timestamp.
TEST(LineParserTest, OverlongTimestampIsABadTimestamp) {
  const LineParser parser = TsvParser();
  ParsedLine parsed;
  EXPECT_EQ(parser.Parse("10\t40\t4\t1700000000170000000017", &parsed), LineError::kBadTimestamp);
  EXPECT_EQ(parser.Parse("10\t40\t4\t-99999999999999999999", &parsed),
            LineError::kBadTimestamp);
  ASSERT_EQ(parser.Parse("10\t40\t4\t1700000000", &parsed), LineError::kNone);
  EXPECT_EQ(parsed.timestamp, 1700000000);
  ASSERT_EQ(parser.Parse("10\t40\t4\t-1700000000", &parsed), LineError::kNone);
  EXPECT_EQ(parsed.timestamp, -1700000000);
}

}  // namespace
}  // namespace psrec::data
