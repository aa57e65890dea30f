#include "data/format_detect.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "data/message_quote.h"
#include "data/quoted_fields.h"

namespace psrec::data {
namespace {

// Splits for detection only (the hot path has its own splitter in line_parser.cc).
std::vector<std::string_view> SplitOn(std::string_view line, std::string_view delimiter) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t pos = line.find(delimiter, start);
    if (pos == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, pos - start));
    start = pos + delimiter.size();
  }
}

// Fields of a line as the parser will see them: RFC 4180 quoting for one-character
// delimiters (quotes removed), a plain split otherwise.
std::vector<std::string> SplitFields(std::string_view line, std::string_view delimiter) {
  std::vector<std::string> fields;
  if (delimiter.size() == 1) {
    SplitQuoted(line, delimiter[0], &fields);  // a malformed line fails when it is parsed
    return fields;
  }
  for (std::string_view f : SplitOn(line, delimiter)) fields.emplace_back(f);
  return fields;
}

std::vector<std::string_view> SplitWhitespace(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status LineOneError(const std::string& path, const std::string& reason) {
  return Status::InvalidArgument(path + ":1: " + reason);
}

LineLayout FixedLayout(config::DataFormat format) {
  LineLayout layout;
  layout.format = format;
  switch (format) {
    case config::MOVIELENS_TSV:
      layout.separator = LineLayout::Separator::kChar;
      layout.delimiter.assign(1, '\t');
      layout.num_fields = 4;
      layout.timestamp_column = 3;
      break;
    case config::MOVIELENS_DAT:
      layout.separator = LineLayout::Separator::kString;
      layout.delimiter.assign(2, ':');
      layout.num_fields = 4;
      layout.timestamp_column = 3;
      break;
    default:  // LIBMF
      layout.separator = LineLayout::Separator::kWhitespace;
      layout.num_fields = 3;
      break;
  }
  return layout;
}

// MovieLens CSV: the header names the columns (userId, movieId, rating, timestamp).
Result<LineLayout> CsvLayout(const std::string& path, std::string_view first_line) {
  LineLayout layout;
  layout.format = config::MOVIELENS_CSV;
  layout.separator = LineLayout::Separator::kChar;
  layout.delimiter = ",";
  layout.header = true;
  layout.user_column = layout.item_column = layout.rating_column = -1;
  std::vector<std::string> names = SplitFields(first_line, ",");
  layout.num_fields = static_cast<int>(names.size());
  for (int i = 0; i < layout.num_fields; ++i) {
    const std::string name = Lower(names[i]);
    if (name == "userid" || name == "user_id" || name == "user") layout.user_column = i;
    if (name == "movieid" || name == "itemid" || name == "item_id" || name == "item") {
      layout.item_column = i;
    }
    if (name == "rating") layout.rating_column = i;
    if (name == "timestamp") layout.timestamp_column = i;
  }
  if (layout.user_column < 0 || layout.item_column < 0 || layout.rating_column < 0) {
    return LineOneError(path, "expected a CSV header naming userId, movieId and rating, got " +
                                  QuoteForMessage(first_line));
  }
  return layout;
}

// Sets the columns that data.delimited names by header text.
Status ColumnsByName(const std::string& path, std::string_view header,
                     const std::vector<std::string>& names,
                     const config::DelimitedColumns& columns, LineLayout* layout) {
  const std::pair<const std::string*, int*> wanted[] = {
      {&columns.user_column_name(), &layout->user_column},
      {&columns.item_column_name(), &layout->item_column},
      {&columns.rating_column_name(), &layout->rating_column},
      {&columns.timestamp_column_name(), &layout->timestamp_column}};
  for (const auto& [name, column] : wanted) {
    if (name->empty()) continue;
    if (!columns.header()) {
      return Status::InvalidArgument("data.delimited: columns named '" + *name +
                                     "' need a header line (header: true, --header)");
    }
    const std::string target = Lower(*name);
    *column = -1;
    for (size_t i = 0; i < names.size(); ++i) {
      if (Lower(names[i]) == target) *column = static_cast<int>(i);
    }
    if (*column < 0) {
      std::string listed;
      for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + QuoteForMessage(n);
      return LineOneError(path, "the header " + QuoteForMessage(header) + " has no column " +
                                    QuoteForMessage(*name) + " (it has " + listed + ")");
    }
  }
  return Status::OK();
}

Result<LineLayout> DelimitedLayout(const std::string& path, std::string_view first_line,
                                   const config::DelimitedColumns& columns) {
  LineLayout layout;
  layout.format = config::DELIMITED;
  layout.delimiter = columns.delimiter();
  if (layout.delimiter == "\\t") layout.delimiter = "\t";
  if (layout.delimiter.empty()) {
    return Status::InvalidArgument("data.delimited.delimiter: must not be empty");
  }
  layout.separator = layout.delimiter.size() == 1 ? LineLayout::Separator::kChar
                                                  : LineLayout::Separator::kString;
  layout.header = columns.header();
  layout.user_column = columns.user_column();
  layout.item_column = columns.item_column();
  layout.rating_column = columns.rating_column();
  layout.timestamp_column = columns.timestamp_column();
  // Every line must have as many fields as the first one (header or data).
  const std::vector<std::string> first_fields = SplitFields(first_line, layout.delimiter);
  layout.num_fields = static_cast<int>(first_fields.size());
  RETURN_IF_ERROR(ColumnsByName(path, first_line, first_fields, columns, &layout));
  const int needed = std::max({layout.user_column, layout.item_column, layout.rating_column,
                               layout.timestamp_column}) + 1;
  if (layout.user_column < 0 || layout.item_column < 0 || layout.rating_column < -1 ||
      layout.timestamp_column < -1) {
    return Status::InvalidArgument(
        "data.delimited: user_column and item_column must be >= 0, rating_column and "
        "timestamp_column >= -1");
  }
  if (layout.user_column == layout.item_column) {
    return Status::InvalidArgument("data.delimited: user_column and item_column are the same");
  }
  if (layout.num_fields < needed) {
    return LineOneError(path, "expected at least " + std::to_string(needed) + " " +
                                  layout.SeparatorName() + " fields, found " +
                                  std::to_string(layout.num_fields) + " in " +
                                  QuoteForMessage(first_line));
  }
  return layout;
}

// Tells the user which format the file looks like when the forced one does not fit.
Status CheckFixedFirstLine(const std::string& path, std::string_view first_line,
                           const LineLayout& layout) {
  size_t found = layout.separator == LineLayout::Separator::kWhitespace
                     ? SplitWhitespace(first_line).size()
                     : SplitOn(first_line, layout.delimiter).size();
  if (static_cast<int>(found) == layout.num_fields) return Status::OK();
  return LineOneError(path, std::string(FormatName(layout.format)) + " expects " +
                                std::to_string(layout.num_fields) + " " +
                                layout.SeparatorName() + " fields, found " +
                                std::to_string(found) + " in " +
                                QuoteForMessage(first_line) + " (wrong delimiter or --format?)");
}

Result<LineLayout> DetectLayout(const std::string& path, std::string_view first_line) {
  const std::string lower = Lower(first_line);
  if (lower.find(',') != std::string::npos &&
      (lower.find("userid") != std::string::npos || lower.find("user_id") != std::string::npos)) {
    return CsvLayout(path, first_line);
  }
  if (first_line.find("::") != std::string_view::npos) {
    LineLayout layout = FixedLayout(config::MOVIELENS_DAT);
    RETURN_IF_ERROR(CheckFixedFirstLine(path, first_line, layout));
    return layout;
  }
  const bool has_tab = first_line.find('\t') != std::string_view::npos;
  const size_t tab_fields = SplitOn(first_line, "\t").size();
  const size_t ws_fields = SplitWhitespace(first_line).size();
  if (has_tab && tab_fields == 4 && ws_fields == 4) return FixedLayout(config::MOVIELENS_TSV);
  // Ids may be any text ("ü 2 3"); a header line fails on line 1 as a rating that is not a
  // number, which names the line.
  if (ws_fields == 3 && first_line.find(',') == std::string_view::npos &&
      first_line.find(';') == std::string_view::npos) {
    return FixedLayout(config::LIBMF);
  }
  std::string hint;
  if (first_line.find(';') != std::string_view::npos) {
    hint = "';'-separated; use --format delimited --delimiter ';' (and --header when the "
           "first line names the columns)";
  } else if (first_line.find(',') != std::string_view::npos) {
    hint = "comma-separated without a userId,movieId,rating header; add the header or use "
           "--format delimited with data.delimited";
  } else {
    hint = std::to_string(ws_fields) + " whitespace-separated field" +
           (ws_fields == 1 ? "" : "s") +
           " fit none of u.data (4, tab-separated), LIBMF (3) or ratings.dat ('::'); pass "
           "--format";
  }
  return LineOneError(path, "cannot detect the format from " + QuoteForMessage(first_line) +
                                ": " + hint);
}

}  // namespace

std::string LineLayout::SeparatorName() const {
  switch (separator) {
    case Separator::kWhitespace:
      return "whitespace-separated";
    case Separator::kChar:
      if (delimiter == "\t") return "tab-separated";
      [[fallthrough]];
    case Separator::kString:
      return QuoteForMessage(delimiter) + "-separated";
  }
  return "";
}

const char* FormatName(config::DataFormat format) {
  switch (format) {
    case config::AUTO: return "auto-detected";
    case config::MOVIELENS_TSV: return "MovieLens TSV (u.data)";
    case config::MOVIELENS_DAT: return "MovieLens ratings.dat";
    case config::MOVIELENS_CSV: return "MovieLens CSV";
    case config::LIBMF: return "LIBMF";
    case config::DELIMITED: return "delimited";
    case config::BINARY: return "prepared binary";
  }
  return "unknown";
}

Result<config::DataFormat> ParseFormatName(std::string_view name) {
  const std::string n = Lower(name);
  if (n == "auto") return config::AUTO;
  if (n == "tsv" || n == "movielens_tsv" || n == "u.data") return config::MOVIELENS_TSV;
  if (n == "dat" || n == "movielens_dat" || n == "ratings.dat") return config::MOVIELENS_DAT;
  if (n == "csv" || n == "movielens_csv") return config::MOVIELENS_CSV;
  if (n == "libmf") return config::LIBMF;
  if (n == "delimited") return config::DELIMITED;
  if (n == "binary") return config::BINARY;
  return Status::InvalidArgument("--format: unknown format '" + std::string(name) +
                                 "' (auto, tsv, dat, csv, libmf, delimited, binary)");
}

Result<LineLayout> ResolveLayout(const std::string& path, std::string_view first_line,
                                 const config::DataConfig& data) {
  switch (data.format()) {
    case config::AUTO:
      return DetectLayout(path, first_line);
    case config::MOVIELENS_CSV:
      return CsvLayout(path, first_line);
    case config::DELIMITED:
      return DelimitedLayout(path, first_line, data.delimited());
    case config::MOVIELENS_TSV:
    case config::MOVIELENS_DAT:
    case config::LIBMF:
      // A forced format is checked line by line, so that --skip-bad-lines applies to line 1.
      return FixedLayout(data.format());
    case config::BINARY:
      break;
  }
  return Status::InvalidArgument(path + ": format " + FormatName(data.format()) +
                                 " is not a text format");
}

}  // namespace psrec::data
