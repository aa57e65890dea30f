// The fast path of LineParser (data/line_parser.h) for the layouts almost every file has:
// user, item, rating[, timestamp] in columns 0..3, separated by whitespace (LIBMF) or by one
// character (u.data, CSV), integer ids and plain decimal ratings. It makes one pass over the
// bytes and gives up (returns false) at anything unusual, and the general path then parses
// the line, so results and errors never depend on which path ran.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>

namespace psrec::data::fast_path {

inline constexpr double kPow10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};

inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// An id of 1..18 digits without a leading zero (always below 2^63). Longer ids, "0155",
// and non-digits take the slow path (which makes "0155" a string id).
inline bool Id(const char*& p, const char* end, uint64_t* key) {
  const char* start = p;
  uint64_t v = 0;
  while (p < end && IsDigit(*p)) v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  *key = v;
  return p > start && p - start <= 18 && (*start != '0' || p - start == 1);
}

// [-]digits[.digits] with at most 7 significant digits: exactly the float strtof gives,
// since the mantissa and the power of ten are exact floats and one division rounds once
// (53 >= 2 * 24 + 2 bits).
inline bool Rating(const char*& p, const char* end, float* out) {
  bool negative = false;
  if (p < end && *p == '-') {
    negative = true;
    ++p;
  }
  uint32_t mantissa = 0;
  int digits = 0, fraction = 0;
  while (p < end && IsDigit(*p)) {
    mantissa = mantissa * 10 + static_cast<uint32_t>(*p++ - '0');
    ++digits;
  }
  if (p < end && *p == '.') {
    ++p;
    while (p < end && IsDigit(*p)) {
      mantissa = mantissa * 10 + static_cast<uint32_t>(*p++ - '0');
      ++digits;
      ++fraction;
    }
  }
  if (digits == 0 || digits > 7) return false;
  const double value = static_cast<double>(mantissa) / kPow10[fraction];
  *out = static_cast<float>(negative ? -value : value);
  return true;
}

inline bool Timestamp(const char*& p, const char* end, int64_t* out) {
  bool negative = false;
  if (p < end && *p == '-') {
    negative = true;
    ++p;
  }
  const char* start = p;
  // Unsigned, so that a longer run of digits (refused below) wraps instead of overflowing
  // (found by fuzz_line_parser: signed overflow, undefined behaviour, on 19+ digits).
  uint64_t v = 0;
  while (p < end && IsDigit(*p)) v = v * 10 + static_cast<uint64_t>(*p++ - '0');
  *out = static_cast<int64_t>(negative ? 0 - v : v);
  return p > start && p - start <= 18;
}

inline void SkipBlanks(const char*& p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
}

// "u i r" with blanks around and between. True when the whole line was consumed.
inline bool Whitespace3(const char* p, const char* end, uint64_t* user, uint64_t* item,
                        float* rating) {
  SkipBlanks(p, end);
  if (!Id(p, end, user) || p == end || (*p != ' ' && *p != '\t')) return false;
  SkipBlanks(p, end);
  if (!Id(p, end, item) || p == end || (*p != ' ' && *p != '\t')) return false;
  SkipBlanks(p, end);
  if (!Rating(p, end, rating)) return false;
  SkipBlanks(p, end);
  return p == end;
}

// "u<d>i<d>r" or "u<d>i<d>r<d>t". True when the whole line was consumed.
inline bool Delimited(const char* p, const char* end, char d, bool with_timestamp,
                      uint64_t* user, uint64_t* item, float* rating, int64_t* timestamp) {
  if (!Id(p, end, user) || p == end || *p++ != d) return false;
  if (!Id(p, end, item) || p == end || *p++ != d) return false;
  if (!Rating(p, end, rating)) return false;
  if (with_timestamp) {
    if (p == end || *p++ != d || !Timestamp(p, end, timestamp)) return false;
  }
  return p == end;
}

}  // namespace psrec::data::fast_path
