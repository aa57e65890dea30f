// JSON output for everything psrec writes as JSON (metrics.jsonl, summary.json, the --json of
// `data stats`, `bench` and `ckpt`): values are nlohmann::ordered_json, so keys come out in
// the order they were added and strings are escaped by the library, quotes, backslashes and
// control characters in ids, paths and messages included.
//
// Numbers. JSON has no NaN or infinity: a non-finite figure is written as null, as the
// hand-written output always did for metrics (test_rmse without a test set). Figures are
// rounded to the digits worth reading (JsonNumber: significant digits as printf "%.Ng";
// JsonFixed: decimals as "%.Nf"), then written in the shortest form that reads back as the
// rounded value; a whole number is written as an integer ("3", not "3.0").
//
// Strings must be UTF-8. JsonText does not throw on a string that is not (a path or an id
// from a Latin-1 file): each invalid byte becomes U+FFFD (error_handler_t::replace). Replace
// rather than ignore: the reader sees that a character was there and what the text around it
// was; ignore would silently join the bytes on either side. Where the encoding is known to
// be Latin-1 (MovieLens item titles), convert with Utf8OrLatin1 first and nothing is lost.
//
// Thread safety: pure functions; WriteJsonLine needs the FILE to itself for the call.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace psrec {

using Json = nlohmann::ordered_json;

// `value` rounded to `significant_digits` (1..17), null when not finite.
Json JsonNumber(double value, int significant_digits);
// `value` rounded to `decimals` (0..17) after the point, null when not finite.
Json JsonFixed(double value, int decimals);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF: what the JSON writer accepts).
bool IsUtf8(std::string_view text);
// `text` itself when it is UTF-8, else its bytes read as Latin-1 and encoded in UTF-8.
std::string Utf8OrLatin1(std::string_view text);

// One line of JSON, no spaces, no trailing newline; invalid UTF-8 replaced as above.
std::string JsonText(const Json& value);

// Writes JsonText(value) and a newline to `file` and flushes it. IoError naming `path`.
Status WriteJsonLine(std::FILE* file, const std::string& path, const Json& value);
// Creates or truncates `path` and writes one JSON line to it. IoError naming `path`.
Status WriteJsonFile(const std::string& path, const Json& value);

}  // namespace psrec
