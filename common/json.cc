#include "common/json.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace psrec {
namespace {

// A whole number is kept as an integer so that it prints without ".0"; past 2^53 a double no
// longer holds every integer, and such a value stays a double (printed with an exponent).
Json Rounded(double value) {
  if (std::trunc(value) == value && std::fabs(value) < 9007199254740992.0) {
    return static_cast<int64_t>(value);
  }
  return value;
}

// Formats `value` with `precision` in `format` and reads it back: the double nearest the
// decimal a reader would see. to_chars/from_chars ignore the locale, unlike printf/strtod.
Json RoundTrip(double value, std::chars_format format, int precision) {
  if (!std::isfinite(value)) return nullptr;
  char buf[400];  // the widest fixed form: 309 integer digits, a point, 17 decimals
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, format, precision);
  CHECK(ec == std::errc()) << "to_chars failed for " << value;
  double rounded = 0;
  auto parsed = std::from_chars(buf, end, rounded);
  CHECK(parsed.ec == std::errc()) << "from_chars failed on " << std::string(buf, end);
  return Rounded(rounded);
}

}  // namespace

Json JsonNumber(double value, int significant_digits) {
  CHECK(significant_digits >= 1 && significant_digits <= 17) << significant_digits;
  return RoundTrip(value, std::chars_format::general, significant_digits);
}

Json JsonFixed(double value, int decimals) {
  CHECK(decimals >= 0 && decimals <= 17) << decimals;
  return RoundTrip(value, std::chars_format::fixed, decimals);
}

bool IsUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    // Continuation bytes and the range the first of them may take (Unicode, table 3-7).
    size_t follow;
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      follow = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      follow = 2;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      follow = 3;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
    } else {
      return false;
    }
    if (text.size() - i - 1 < follow) return false;
    for (size_t k = 1; k <= follow; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) return false;
    }
    i += follow + 1;
  }
  return true;
}

std::string Utf8OrLatin1(std::string_view text) {
  if (IsUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() * 2);
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string JsonText(const Json& value) {
  return value.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                    Json::error_handler_t::replace);
}

Status WriteJsonLine(std::FILE* file, const std::string& path, const Json& value) {
  const std::string line = JsonText(value) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file) != line.size() || std::fflush(file) != 0) {
    return Status::IoError(path + ": write failed: " + std::strerror(errno));
  }
  return Status::OK();
}

Status WriteJsonFile(const std::string& path, const Json& value) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return Status::IoError(path + ": cannot open for writing: " + std::strerror(errno));
  }
  Status written = WriteJsonLine(file, path, value);
  if (std::fclose(file) != 0 && written.ok()) {
    return Status::IoError(path + ": write failed: " + std::strerror(errno));
  }
  return written;
}

}  // namespace psrec
