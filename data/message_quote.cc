#include "data/message_quote.h"

#include <cstdint>
#include <cstdio>

namespace psrec::data {
namespace {

void AppendHex(unsigned char byte, std::string* out) {
  char hex[5];
  std::snprintf(hex, sizeof(hex), "\\x%02x", byte);
  *out += hex;
}

// The length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong
// forms, no surrogates, at most U+10FFFF) and its code point; 0 when there is none.
size_t Utf8Sequence(std::string_view s, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  uint32_t cp = 0, min = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2, cp = lead & 0x1fu, min = 0x80;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3, cp = lead & 0x0fu, min = 0x800;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4, cp = lead & 0x07u, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i) & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  *code_point = cp;
  return length;
}

// Characters a terminal acts on rather than shows.
bool IsInvisibleControl(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string QuoteForMessage(std::string_view text) {
  std::string out = "'";
  size_t i = 0;
  while (i < text.size() && i < kQuotedBytes) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        case '\n': out += "\\n"; break;
        case '\\': out += "\\\\"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            AppendHex(c, &out);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t length = Utf8Sequence(text.substr(i), &cp);
    if (length == 0) {
      AppendHex(c, &out);
      ++i;
    } else {
      for (size_t k = 0; k < length; ++k) {
        if (IsInvisibleControl(cp)) {
          AppendHex(static_cast<unsigned char>(text[i + k]), &out);
        } else {
          out += text[i + k];
        }
      }
      i += length;
    }
  }
  if (i < text.size()) out += "...";
  return out + "'";
}

}  // namespace psrec::data
