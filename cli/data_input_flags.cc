#include "cli/data_input_flags.h"

#include <charconv>
#include <filesystem>

#include "common/config.h"
#include "data/format_detect.h"

namespace psrec::cli {
namespace {

std::vector<std::string> SplitCommas(const std::string& value) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t comma = value.find(',', start);
    parts.push_back(value.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

// Sets one role's column: a number is an index, anything else a header name.
Status SetColumn(const std::string& role, const std::string& column,
                 config::DelimitedColumns* columns) {
  if (column.empty()) return Status::InvalidArgument("--columns: empty column for " + role);
  int index = 0;
  auto [ptr, ec] = std::from_chars(column.data(), column.data() + column.size(), index);
  const bool numeric = ec == std::errc() && ptr == column.data() + column.size();
  if (role == "user") {
    numeric ? columns->set_user_column(index) : columns->set_user_column_name(column);
  } else if (role == "item") {
    numeric ? columns->set_item_column(index) : columns->set_item_column_name(column);
  } else if (role == "rating") {
    numeric ? columns->set_rating_column(index) : columns->set_rating_column_name(column);
  } else if (role == "timestamp") {
    numeric ? columns->set_timestamp_column(index) : columns->set_timestamp_column_name(column);
  } else {
    return Status::InvalidArgument("--columns: unknown role '" + role +
                                   "' (user, item, rating, timestamp)");
  }
  return Status::OK();
}

}  // namespace

void AddInputFlags(FlagSet* flags, InputFlags* input, bool with_binary) {
  flags->AddString("config", &input->config_path,
                   "job config whose data { } section says how to read the input");
  flags->AddRepeated("set", &input->overrides,
                     "override a config field, e.g. --set data.delimited.delimiter=';'");
  flags->AddString("format", &input->format,
                   with_binary ? "auto, tsv (u.data), dat (ratings.dat), csv, libmf, delimited, "
                                 "binary [default: the config's, auto]"
                               : "auto, tsv (u.data), dat (ratings.dat), csv, libmf, delimited "
                                 "[default: the config's, auto]");
  flags->AddString("delimiter", &input->delimiter,
                   "field delimiter of a delimited file (';', ',', tab as '\\t'); implies "
                   "--format delimited. One-character delimiters follow RFC 4180 quoting");
  flags->AddBool("header", &input->header, "the first line names the columns (delimited)");
  flags->AddString("columns", &input->columns,
                   "delimited columns by header name or 0-based index: "
                   "user=User-ID,item=ISBN,rating=Book-Rating or 0,1,2[,3] "
                   "(user, item, rating, timestamp)");
  flags->AddBool("skip-bad-lines", &input->skip_bad_lines,
                 "count and skip bad lines instead of failing on the first");
  flags->AddOptionalDouble("min-rating", &input->min_rating, "ratings below this are bad lines", -3e38, 3e38);
  flags->AddOptionalDouble("max-rating", &input->max_rating, "ratings above this are bad lines", -3e38, 3e38);
}

Status ApplyColumnsFlag(const std::string& value, config::DelimitedColumns* columns) {
  static const char* const kRoles[] = {"user", "item", "rating", "timestamp"};
  const std::vector<std::string> parts = SplitCommas(value);
  if (parts.size() > 4) {
    return Status::InvalidArgument("--columns: at most 4 columns (user, item, rating, "
                                   "timestamp), got " + std::to_string(parts.size()));
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string::npos) {
      RETURN_IF_ERROR(SetColumn(kRoles[i], parts[i], columns));
    } else {
      RETURN_IF_ERROR(SetColumn(parts[i].substr(0, eq), parts[i].substr(eq + 1), columns));
    }
  }
  return Status::OK();
}

Result<config::DataConfig> DataConfigFromFlags(const InputFlags& flags,
                                               const std::string& path) {
  config::DataConfig data;
  if (!flags.config_path.empty() || !flags.overrides.empty()) {
    // The input is the train path, so that a config without one still validates.
    std::vector<std::string> overrides = {"data.train_path=" + path};
    overrides.insert(overrides.end(), flags.overrides.begin(), flags.overrides.end());
    ASSIGN_OR_RETURN(config::JobConfig job, LoadJobConfig(flags.config_path, overrides));
    data = job.data();
  }
  config::DelimitedColumns* delimited = data.mutable_delimited();
  if (!flags.delimiter.empty()) {
    delimited->set_delimiter(flags.delimiter == "tab" ? "\t" : flags.delimiter);
  }
  if (flags.header) delimited->set_header(true);
  if (!flags.columns.empty()) RETURN_IF_ERROR(ApplyColumnsFlag(flags.columns, delimited));
  if (!flags.format.empty()) {
    ASSIGN_OR_RETURN(config::DataFormat format, data::ParseFormatName(flags.format));
    data.set_format(format);
  } else if (data.format() == config::AUTO &&
             (!flags.delimiter.empty() || flags.header || !flags.columns.empty())) {
    data.set_format(config::DELIMITED);
  }
  std::error_code ec;
  if (data.format() == config::AUTO && std::filesystem::is_directory(path, ec)) {
    data.set_format(config::BINARY);
  }
  data.set_train_path(path);
  if (flags.skip_bad_lines) data.set_skip_bad_lines(true);
  if (flags.min_rating) data.set_min_rating(static_cast<float>(*flags.min_rating));
  if (flags.max_rating) data.set_max_rating(static_cast<float>(*flags.max_rating));
  if (!(data.min_rating() <= data.max_rating())) {
    return Status::InvalidArgument("--min-rating must not exceed --max-rating");
  }
  return data;
}

}  // namespace psrec::cli
