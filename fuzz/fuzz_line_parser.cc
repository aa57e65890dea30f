// Fuzzes the text side of data ingestion: format detection (ResolveLayout, data/format_detect.h)
// on the first line and LineParser (data/line_parser.h) on every later line, with the message
// a bad line gets (LineParser::Describe). The first byte picks the data.format asked for and
// the DELIMITED columns; the rest is the file's text.
#include <cstdint>
#include <string>
#include <string_view>

#include "data/format_detect.h"
#include "data/line_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace psrec;
  if (size == 0) return 0;
  const uint8_t choice = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  config::DataConfig config;
  static constexpr config::DataFormat kFormats[] = {
      config::AUTO, config::MOVIELENS_TSV, config::MOVIELENS_DAT,
      config::MOVIELENS_CSV, config::LIBMF, config::DELIMITED};
  config.set_format(kFormats[choice % 6]);
  if (config.format() == config::DELIMITED) {
    static constexpr const char* kDelimiters[] = {",", "\t", "::", ";"};
    auto* columns = config.mutable_delimited();
    columns->set_delimiter(kDelimiters[(choice >> 3) % 4]);
    columns->set_header((choice >> 5) & 1);
    columns->set_rating_column((choice >> 6) & 1 ? -1 : 2);
    columns->set_timestamp_column((choice >> 7) & 1 ? 3 : -1);
  }
  // The file name matters to AUTO (u.data, ratings.dat, ratings.csv).
  static constexpr const char* kNames[] = {"u.data", "ratings.dat", "ratings.csv", "r.txt"};
  const std::string path = kNames[(choice >> 3) % 4];

  const size_t eol = text.find('\n');
  const std::string_view first = text.substr(0, eol);
  auto layout = data::ResolveLayout(path, first, config);
  if (!layout.ok()) return 0;
  const data::LineParser parser(*layout, 0.5f, 5.0f);
  size_t at = layout->header && eol != std::string_view::npos ? eol + 1 : 0;
  if (layout->header && eol == std::string_view::npos) return 0;
  while (at <= text.size()) {
    const size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    data::ParsedLine parsed;
    const data::LineError error = parser.Parse(line, &parsed);
    if (error != data::LineError::kNone) {
      (void)parser.Describe(error, line);
      (void)data::LineErrorReason(error);
    }
    at = end + 1;
  }
  return 0;
}
