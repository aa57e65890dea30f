#include "data/line_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/keys.h"
#include "data/line_fast_path.h"
#include "data/message_quote.h"
#include "data/quoted_fields.h"

namespace psrec::data {
namespace {

constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
constexpr int kFastDigits = 7;  // 10^7 < 2^24: the mantissa is an exact float

inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

const char* LineErrorReason(LineError error) {
  switch (error) {
    case LineError::kNone: return "ok";
    case LineError::kFieldCount: return "wrong field count";
    case LineError::kEmptyId: return "empty id";
    case LineError::kNegativeId: return "negative id";
    case LineError::kIdOverflow: return "id overflows";
    case LineError::kBadRating: return "rating not a number";
    case LineError::kNonFiniteRating: return "rating not finite";
    case LineError::kRatingOutOfRange: return "rating out of range";
    case LineError::kBadTimestamp: return "bad timestamp";
    case LineError::kLineTooLong: return "line too long";
    case LineError::kIdCollision: return "id hash collision";
    case LineError::kUnterminatedQuote: return "unterminated quote";
    case LineError::kTextAfterQuote: return "text after closing quote";
  }
  return "unknown";
}

bool ParseRatingField(std::string_view text, float* out, bool* finite) {
  *finite = true;
  const char* p = text.data();
  const char* end = p + text.size();
  bool negative = false;
  if (p < end && (*p == '-' || *p == '+')) {
    negative = *p == '-';
    ++p;
  }
  uint32_t mantissa = 0;
  int digits = 0;
  int fraction_digits = 0;
  while (p < end && IsDigit(*p) && digits < kFastDigits) {
    mantissa = mantissa * 10 + static_cast<uint32_t>(*p - '0');
    ++digits;
    ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    while (p < end && IsDigit(*p) && digits < kFastDigits) {
      mantissa = mantissa * 10 + static_cast<uint32_t>(*p - '0');
      ++digits;
      ++fraction_digits;
      ++p;
    }
  }
  if (p == end && digits > 0) {
    const double value = static_cast<double>(mantissa) / kPow10[fraction_digits];
    *out = static_cast<float>(negative ? -value : value);
    return true;
  }
  // Long mantissas, exponents, nan, inf: the library parser (it takes no leading '+').
  std::string_view rest = text;
  if (!rest.empty() && rest[0] == '+') {
    rest.remove_prefix(1);
    if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) return false;
  }
  const char* begin = rest.data();
  if (rest.empty()) return false;
  float value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ptr != end) return false;
  if (ec == std::errc::result_out_of_range) {
    // Underflow to zero is a finite value; overflow is not.
    double wide = 0;
    auto [wptr, wec] = std::from_chars(begin, end, wide);
    if (wec == std::errc() && std::fabs(wide) < 1.0) {
      *out = static_cast<float>(wide);
      return true;
    }
    *finite = false;
    return false;
  }
  if (ec != std::errc()) return false;
  if (!std::isfinite(value)) {
    *finite = false;
    return false;
  }
  *out = value;
  return true;
}

LineError ParseIdField(std::string_view text, uint64_t* key, bool* is_string) {
  if (text.empty()) return LineError::kEmptyId;
  *is_string = false;
  uint64_t value = 0;
  size_t i = 0;
  for (; i < text.size() && i < 19; ++i) {
    const char c = text[i];
    if (!IsDigit(c)) break;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (i == text.size() && !(text[0] == '0' && text.size() > 1)) {
    if (value >= (1ULL << 63)) return LineError::kIdOverflow;
    *key = value;
    return LineError::kNone;
  }
  if (i == 19 && text[0] != '0' && std::all_of(text.begin() + 19, text.end(), IsDigit)) {
    return LineError::kIdOverflow;
  }
  if (text[0] == '-' && text.size() > 1 &&
      std::all_of(text.begin() + 1, text.end(), IsDigit)) {
    return LineError::kNegativeId;
  }
  *key = KeyOfRawId(text);
  *is_string = true;
  return LineError::kNone;
}

LineParser::LineParser(const LineLayout& layout, float min_rating, float max_rating)
    : layout_(layout),
      min_rating_(min_rating),
      max_rating_(max_rating),
      max_column_(std::max({layout.user_column, layout.item_column, layout.rating_column,
                            layout.timestamp_column})) {
  const bool ordered = layout.user_column == 0 && layout.item_column == 1 &&
                       layout.rating_column == 2;
  if (ordered && layout.separator == LineLayout::Separator::kWhitespace &&
      layout.num_fields == 3 && layout.timestamp_column == -1) {
    fast_ = FastPath::kWhitespace3;
  } else if (ordered && layout.separator == LineLayout::Separator::kChar &&
             ((layout.num_fields == 3 && layout.timestamp_column == -1) ||
              (layout.num_fields == 4 && layout.timestamp_column == 3))) {
    fast_ = FastPath::kDelimited;
  }
}

namespace {

// Walks the fields of `line` once, keeping the ones `columns` name (user, item, rating,
// timestamp; -1 for none), and returns how many fields there are. One template instance per
// separator keeps the inner loop free of the choice.
template <typename NextField>
inline int PickFields(const char* p, const char* end, const int* columns,
                      std::string_view* picked, NextField next_field) {
  int count = 0;
  const char* begin;
  const char* stop;
  while (next_field(&p, end, &begin, &stop)) {
    const std::string_view field(begin, stop - begin);
    if (count == columns[0]) picked[0] = field;
    if (count == columns[1]) picked[1] = field;
    if (count == columns[2]) picked[2] = field;
    if (count == columns[3]) picked[3] = field;
    ++count;
  }
  return count;
}

}  // namespace

// Like PickFields, through RFC 4180 quoting; doubled quotes are unescaped into scratch.
int PickQuoted(std::string_view line, char delimiter, const int* columns,
               std::string_view* picked, std::string* scratch, LineError* quote_error) {
  QuotedFieldCursor cursor(line, delimiter);
  std::string other;  // fields nobody reads
  std::string_view field;
  int count = 0;
  while (true) {
    int slot = -1;
    for (int k = 0; k < 4; ++k) {
      if (count == columns[k]) slot = k;
    }
    if (!cursor.Next(&field, slot >= 0 ? &scratch[slot] : &other)) break;
    for (int k = 0; k < 4; ++k) {
      if (count == columns[k]) picked[k] = field;
    }
    ++count;
  }
  if (cursor.error() == QuoteError::kUnterminated) *quote_error = LineError::kUnterminatedQuote;
  if (cursor.error() == QuoteError::kTextAfterQuote) *quote_error = LineError::kTextAfterQuote;
  return count;
}

int LineParser::Pick(std::string_view line, std::string_view* picked, std::string* scratch,
                     LineError* quote_error) const {
  const int columns[4] = {layout_.user_column, layout_.item_column, layout_.rating_column,
                          layout_.timestamp_column};
  const char* p = line.data();
  const char* end = p + line.size();
  switch (layout_.separator) {
    case LineLayout::Separator::kWhitespace:
      return PickFields(p, end, columns, picked,
                        [](const char** q, const char* e, const char** b, const char** s) {
                          const char* c = *q;
                          while (c < e && (*c == ' ' || *c == '\t')) ++c;
                          if (c == e) return false;
                          *b = c;
                          while (c < e && *c != ' ' && *c != '\t') ++c;
                          *s = c;
                          *q = c;
                          return true;
                        });
    case LineLayout::Separator::kChar: {
      const char d = layout_.delimiter[0];
      if (std::memchr(p, '"', line.size()) != nullptr) {
        return PickQuoted(line, d, columns, picked, scratch, quote_error);
      }
      // N delimiters make N + 1 fields; `done` marks that the last one was returned.
      bool done = false;
      return PickFields(p, end, columns, picked,
                        [d, &done](const char** q, const char* e, const char** b,
                                   const char** s) {
                          if (done) return false;
                          const char* c = *q;
                          *b = c;
                          while (c < e && *c != d) ++c;
                          *s = c;
                          if (c == e) {
                            done = true;
                          } else {
                            ++c;
                          }
                          *q = c;
                          return true;
                        });
    }
    case LineLayout::Separator::kString: {
      const std::string_view d = layout_.delimiter;
      bool done = false;
      return PickFields(p, end, columns, picked,
                        [d, &done](const char** q, const char* e, const char** b,
                                   const char** s) {
                          if (done) return false;
                          const std::string_view rest(*q, e - *q);
                          const size_t pos = rest.find(d);
                          *b = *q;
                          if (pos == std::string_view::npos) {
                            *s = e;
                            *q = e;
                            done = true;
                          } else {
                            *s = *q + pos;
                            *q = *s + d.size();
                          }
                          return true;
                        });
    }
  }
  return 0;
}

LineError LineParser::Parse(std::string_view line, ParsedLine* out) const {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (fast_ != FastPath::kNone) {
    const char* begin = line.data();
    const char* end = begin + line.size();
    const bool parsed =
        fast_ == FastPath::kWhitespace3
            ? fast_path::Whitespace3(begin, end, &out->user_key, &out->item_key, &out->rating)
            : fast_path::Delimited(begin, end, layout_.delimiter[0],
                                   layout_.timestamp_column == 3, &out->user_key,
                                   &out->item_key, &out->rating, &out->timestamp);
    if (parsed && out->rating >= min_rating_ && out->rating <= max_rating_) {
      out->user_is_string = out->item_is_string = false;
      return LineError::kNone;
    }
  }
  std::string_view picked[4];
  LineError quote_error = LineError::kNone;
  const int count = Pick(line, picked, out->scratch, &quote_error);
  if (quote_error != LineError::kNone) return quote_error;
  if (layout_.num_fields > 0 ? count != layout_.num_fields : count <= max_column_) {
    return LineError::kFieldCount;
  }
  out->user = picked[0];
  out->item = picked[1];
  LineError e = ParseIdField(out->user, &out->user_key, &out->user_is_string);
  if (e != LineError::kNone) return e;
  e = ParseIdField(out->item, &out->item_key, &out->item_is_string);
  if (e != LineError::kNone) return e;
  if (layout_.rating_column >= 0) {
    bool finite = true;
    if (!ParseRatingField(picked[2], &out->rating, &finite)) {
      return finite ? LineError::kBadRating : LineError::kNonFiniteRating;
    }
    if (!(out->rating >= min_rating_ && out->rating <= max_rating_)) {
      return LineError::kRatingOutOfRange;
    }
  } else {
    out->rating = 1.0f;
  }
  if (layout_.timestamp_column >= 0) {
    const std::string_view t = picked[3];
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out->timestamp);
    if (t.empty() || ec != std::errc() || ptr != t.data() + t.size()) {
      return LineError::kBadTimestamp;
    }
  }
  return LineError::kNone;
}

std::string LineParser::Describe(LineError error, std::string_view line) const {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view picked[4];
  std::string scratch[4];
  LineError quote_error = LineError::kNone;
  const int count = Pick(line, picked, scratch, &quote_error);
  auto field = [&](int column) {
    if (column < 0) return std::string_view();
    if (column == layout_.user_column) return picked[0];
    if (column == layout_.item_column) return picked[1];
    if (column == layout_.rating_column) return picked[2];
    return picked[3];
  };
  switch (error) {
    case LineError::kFieldCount: {
      std::string expected = layout_.num_fields > 0
                                 ? std::to_string(layout_.num_fields)
                                 : "at least " + std::to_string(max_column_ + 1);
      std::string msg = std::string(FormatName(layout_.format)) + " expects " + expected + " " +
                        layout_.SeparatorName() + " fields, found " + std::to_string(count);
      if (count <= 1 && !IsBlank(line)) msg += " (wrong delimiter or --format?)";
      return msg + " in " + QuoteForMessage(line);
    }
    case LineError::kEmptyId:
      return field(layout_.user_column).empty() ? "empty user id" : "empty item id";
    case LineError::kNegativeId:
    case LineError::kIdOverflow: {
      uint64_t key;
      bool is_string;
      const bool user_bad = ParseIdField(field(layout_.user_column), &key, &is_string) == error;
      const std::string_view id = user_bad ? field(layout_.user_column) : field(layout_.item_column);
      return std::string(user_bad ? "user" : "item") +
             (error == LineError::kNegativeId ? " id is negative: "
                                              : " id overflows 63 bits: ") +
             QuoteForMessage(id);
    }
    case LineError::kBadRating:
      return "rating " + QuoteForMessage(field(layout_.rating_column)) + " is not a number";
    case LineError::kNonFiniteRating:
      return "rating " + QuoteForMessage(field(layout_.rating_column)) +
             " is not a finite number";
    case LineError::kRatingOutOfRange: {
      char range[64];
      std::snprintf(range, sizeof(range), "[%g, %g]", static_cast<double>(min_rating_),
                    static_cast<double>(max_rating_));
      return "rating " + QuoteForMessage(field(layout_.rating_column)) +
             " is outside the range " + range + " (data.min_rating, data.max_rating)";
    }
    case LineError::kBadTimestamp:
      return "timestamp " + QuoteForMessage(field(layout_.timestamp_column)) +
             " is not an integer";
    case LineError::kLineTooLong:
      return "line is too long";
    case LineError::kIdCollision:
      return "two different ids hash to the same 64-bit key";
    case LineError::kUnterminatedQuote:
      return "unterminated quoted field (a '\"' opens a field that never closes) in " +
             QuoteForMessage(line);
    case LineError::kTextAfterQuote:
      return "text after the closing quote of a field (a '\"' inside a quoted field must be "
             "doubled) in " + QuoteForMessage(line);
    case LineError::kNone:
      break;
  }
  return "no error";
}

}  // namespace psrec::data
