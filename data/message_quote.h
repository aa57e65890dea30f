// QuoteForMessage: a field or line of an input file, made safe to put in an error message
// that ends up on a terminal. Data files can hold anything (a binary file given as ratings,
// a corrupt line): raw control bytes or escape sequences in a message could rewrite the
// terminal, and a megabyte line would flood it.
//
// The result is the text in single quotes, with
//   - at most the first kQuotedBytes bytes of `text` (a UTF-8 character that starts inside
//     them is kept whole), then "..." inside the quotes when anything was left out;
//   - tab, CR and LF as \t \r \n, a backslash as \\ (so the escapes are unambiguous), other
//     bytes below 0x20 and 0x7f as \xNN;
//   - well-formed UTF-8 kept as is (names with accents stay readable), except C1 controls
//     (U+0080..U+009F) and bidirectional overrides (U+202A..U+202E, U+2066..U+2069), whose
//     bytes are escaped as \xNN like every byte that is not part of well-formed UTF-8.
//
// Thread safety: a pure function.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace psrec::data {

inline constexpr size_t kQuotedBytes = 60;

std::string QuoteForMessage(std::string_view text);

}  // namespace psrec::data
