#include "data/quoted_fields.h"

namespace psrec::data {

bool QuoteOpenAtEnd(std::string_view record, char delimiter) {
  const char* p = record.data();
  const char* end = p + record.size();
  bool field_start = true;
  while (p < end) {
    if (field_start && *p == '"') {
      ++p;
      while (true) {
        while (p < end && *p != '"') ++p;
        if (p == end) return true;  // still inside the quotes
        if (p + 1 < end && p[1] == '"') {
          p += 2;  // a doubled quote
          continue;
        }
        ++p;  // the closing quote
        break;
      }
      field_start = false;
      continue;
    }
    field_start = *p == delimiter;
    ++p;
  }
  return false;
}

bool QuotedFieldCursor::Next(std::string_view* field, std::string* scratch) {
  if (done_) return false;
  const char* p = p_;
  if (p < end_ && *p == '"') {
    const char* begin = ++p;
    bool doubled = false;
    while (true) {
      while (p < end_ && *p != '"') ++p;
      if (p == end_) {
        error_ = QuoteError::kUnterminated;
        done_ = true;
        return false;
      }
      if (p + 1 < end_ && p[1] == '"') {
        doubled = true;
        p += 2;
        continue;
      }
      break;
    }
    const char* stop = p++;  // p is past the closing quote
    if (p < end_ && *p != delimiter_) {
      // A record's last field may end in the '\r' of a CRLF line ending.
      if (!(*p == '\r' && p + 1 == end_)) {
        error_ = QuoteError::kTextAfterQuote;
        done_ = true;
        return false;
      }
      p = end_;
    }
    if (doubled) {
      scratch->clear();
      for (const char* c = begin; c < stop; ++c) {
        scratch->push_back(*c);
        if (*c == '"') ++c;  // keep one of the two
      }
      *field = *scratch;
    } else {
      *field = std::string_view(begin, stop - begin);
    }
  } else {
    const char* begin = p;
    while (p < end_ && *p != delimiter_) ++p;
    *field = std::string_view(begin, p - begin);
  }
  if (p == end_) {
    done_ = true;
  } else {
    ++p;  // the delimiter
  }
  p_ = p;
  return true;
}

QuoteError SplitQuoted(std::string_view record, char delimiter,
                       std::vector<std::string>* fields) {
  fields->clear();
  QuotedFieldCursor cursor(record, delimiter);
  std::string_view field;
  std::string scratch;
  while (cursor.Next(&field, &scratch)) fields->emplace_back(field);
  return cursor.error();
}

const char* QuoteErrorReason(QuoteError error) {
  switch (error) {
    case QuoteError::kNone: return "ok";
    case QuoteError::kUnterminated: return "unterminated quoted field";
    case QuoteError::kTextAfterQuote: return "text after a closing quote";
  }
  return "unknown";
}

}  // namespace psrec::data
