// Parsing one ratings line of a resolved LineLayout: the hot loop of text ingestion.
//
// Parse() never allocates and reports failure as a LineError code; only when a line is bad
// does the caller ask Describe() for the message, so clean files pay nothing for good
// messages. Ratings use an exact fast path (at most 7 significant digits and no exponent:
// m / 10^k computed in double and rounded once to float, which equals strtof because m and
// 10^k are exact floats and 53 >= 2*24+2) and std::from_chars otherwise.
//
// Thread safety: a LineParser is immutable after construction; share it between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "data/format_detect.h"

namespace psrec::data {

enum class LineError : uint8_t {
  kNone = 0,
  kFieldCount,
  kEmptyId,
  kNegativeId,
  kIdOverflow,
  kBadRating,
  kNonFiniteRating,
  kRatingOutOfRange,
  kBadTimestamp,
  kLineTooLong,
  kIdCollision,
  kUnterminatedQuote,
  kTextAfterQuote,
};

// A short stable key per error, used to count skipped lines ("wrong field count").
const char* LineErrorReason(LineError error);

struct ParsedLine {
  std::string_view user;  // raw text, valid while the line is
  std::string_view item;
  uint64_t user_key = 0;
  uint64_t item_key = 0;
  bool user_is_string = false;  // key is HashString(raw) | 1 << 63
  bool item_is_string = false;
  float rating = 1.0f;
  int64_t timestamp = 0;
  // Unescaped text of quoted fields with doubled quotes (user, item, rating, timestamp):
  // the views above may point here. Reused from line to line, so the steady state allocates
  // nothing.
  std::string scratch[4];
};

class LineParser {
 public:
  // Ratings outside [min_rating, max_rating] are kRatingOutOfRange.
  LineParser(const LineLayout& layout, float min_rating, float max_rating);

  // Parses `line` (no '\n'; a trailing '\r' is ignored).
  LineError Parse(std::string_view line, ParsedLine* out) const;

  // The reason, for the user, that Parse(line) returned `error` (no file:line prefix).
  std::string Describe(LineError error, std::string_view line) const;

  const LineLayout& layout() const { return layout_; }

 private:
  // Returns the field count and sets picked[0..3] to the user, item, rating and timestamp
  // fields (left empty when the line is too short or the layout has no such column).
  // Single-character delimiters follow RFC 4180 quoting (data/quoted_fields.h): quoted
  // fields come back unquoted, unescaped into scratch[0..3] when they hold doubled quotes;
  // a malformed quoted field sets *quote_error.
  int Pick(std::string_view line, std::string_view* picked, std::string* scratch,
           LineError* quote_error) const;

  LineLayout layout_;
  float min_rating_;
  float max_rating_;
  int max_column_;  // highest column index the layout reads
  // Which one-pass parser (data/line_fast_path.h) applies to the layout, if any.
  enum class FastPath { kNone, kWhitespace3, kDelimited };
  FastPath fast_ = FastPath::kNone;
};

// Exposed for tests. Parses a whole field as a finite float; false if it is not a number.
// `*finite` tells a non-number ("abc") from nan / inf / overflow.
bool ParseRatingField(std::string_view text, float* out, bool* finite);

// Exposed for tests. The key of an id field, or the error that rejects it. Only the
// canonical decimal form of an integer below 2^63 ("0", "42"; no sign, no leading zero) is
// an integer id; "0155061224", "+5", "1e3" are string ids (common/keys.h).
LineError ParseIdField(std::string_view text, uint64_t* key, bool* is_string);

}  // namespace psrec::data
