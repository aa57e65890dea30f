// RFC 4180 quoting for single-character-delimited lines (CSV, TSV, ';'-separated dumps).
//
// A field that starts with '"' is quoted: it runs to the next '"' that is not doubled, may
// hold the delimiter, line breaks and doubled quotes ("" stands for one "), and must be
// followed by the delimiter or the end of the record. A '"' inside an unquoted field is an
// ordinary byte (lenient, as spreadsheets write `5" screen`). Fields are bytes: no encoding
// is assumed, so Latin-1 and UTF-8 ids come out as they went in.
//
// A record may span several physical lines when a quoted field holds a line break;
// QuoteOpenAtEnd tells the reader to join the next line.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace psrec::data {

enum class QuoteError {
  kNone = 0,
  kUnterminated,     // a quoted field has no closing quote before the end of the record
  kTextAfterQuote,   // a closing quote is followed by something other than the delimiter
};

// True when `record` ends inside a quoted field (its line break belongs to the field).
bool QuoteOpenAtEnd(std::string_view record, char delimiter);

// Walks the fields of `record` one by one. A quoted field comes back without its quotes;
// when it holds doubled quotes, it is unescaped into `*scratch` (which the returned view
// then points into, valid until the next call with the same scratch).
class QuotedFieldCursor {
 public:
  QuotedFieldCursor(std::string_view record, char delimiter)
      : p_(record.data()), end_(record.data() + record.size()), delimiter_(delimiter) {}

  // The next field, false after the last one or on a malformed field (then error() says why).
  bool Next(std::string_view* field, std::string* scratch);
  QuoteError error() const { return error_; }

 private:
  const char* p_;
  const char* end_;
  char delimiter_;
  bool done_ = false;
  QuoteError error_ = QuoteError::kNone;
};

// All fields of `record`, unescaped and copied (format detection, messages, headers).
// Returns the error of the first malformed field, with the fields before it.
QuoteError SplitQuoted(std::string_view record, char delimiter,
                       std::vector<std::string>* fields);

// "unterminated quoted field", "text after a closing quote".
const char* QuoteErrorReason(QuoteError error);

}  // namespace psrec::data
