// The input flags every `psrec data` subcommand that reads ratings shares (stats, split,
// prepare): --config / --set (the job's data { } section, so a file reads exactly as
// training reads it), --format, the delimited layout (--delimiter, --header, --columns) and
// the bad-line options. Flags given on the command line win over the config.
//
// Thread safety: plain functions on caller-owned values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/flags.h"
#include "common/proto/config.pb.h"
#include "common/status.h"

namespace psrec::cli {

struct InputFlags {
  std::string config_path;             // empty: the default data { } section
  std::vector<std::string> overrides;  // --set a.b=c
  std::string format;                  // empty: the config's (auto by default)
  bool skip_bad_lines = false;
  std::optional<double> min_rating, max_rating;
  std::string delimiter;  // implies --format delimited when no format is given
  bool header = false;
  std::string columns;  // "user=User-ID,item=ISBN,rating=Book-Rating" or "0,1,2[,3]"
};

// Registers --config, --set, --format, --delimiter, --header, --columns, --skip-bad-lines,
// --min-rating and --max-rating. `with_binary`: --format may name a prepared directory.
void AddInputFlags(FlagSet* flags, InputFlags* input, bool with_binary);

// The DataConfig the flags describe for the input at `path` (format resolved; BINARY when
// `path` is a directory and the format is auto).
Result<config::DataConfig> DataConfigFromFlags(const InputFlags& flags, const std::string& path);

// Applies a --columns value to `columns`: comma-separated, either role=column pairs (roles
// user, item, rating, timestamp) or up to four columns in that role order; a column is a
// 0-based number or a header name. Exposed for tests.
Status ApplyColumnsFlag(const std::string& value, config::DelimitedColumns* columns);

}  // namespace psrec::cli
