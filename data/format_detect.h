// Which columns of a ratings text line hold what, and how a format is chosen.
//
// A LineLayout is the resolved form of config::DataFormat (plus DelimitedColumns for
// DELIMITED): how fields are separated, how many there are, and which one is the user,
// item, rating and timestamp. AUTO resolves from the first line of the file (and names the
// file's format only when exactly one reading fits); the other formats check the first
// line against what they expect so that a wrong --format fails on line 1 with a reason.
//
// Thread safety: pure functions; a LineLayout is a plain value.
#pragma once

#include <string>
#include <string_view>

#include "common/proto/config.pb.h"
#include "common/status.h"

namespace psrec::data {

struct LineLayout {
  enum class Separator {
    kChar,        // exactly one `delimiter[0]` between fields (TSV, CSV)
    kString,      // a multi-character `delimiter` (ratings.dat "::")
    kWhitespace,  // runs of spaces and tabs (LIBMF)
  };
  config::DataFormat format = config::AUTO;  // never AUTO once resolved
  Separator separator = Separator::kWhitespace;
  std::string delimiter;
  bool header = false;  // the first line names the columns and holds no rating
  // Fields per line. 0: any count that covers the columns below (DELIMITED without header).
  int num_fields = 3;
  int user_column = 0;
  int item_column = 1;
  int rating_column = 2;      // -1: implicit feedback, every line rates 1
  int timestamp_column = -1;  // -1: the file has no timestamps

  // "tab-separated", "'::'-separated", "whitespace-separated", "','-separated".
  std::string SeparatorName() const;
};

// Human name of a format for messages ("MovieLens TSV (u.data)").
const char* FormatName(config::DataFormat format);

// Parses a --format flag value: auto, tsv, dat, csv, libmf, delimited, binary (or the enum
// names of config.proto, any case).
Result<config::DataFormat> ParseFormatName(std::string_view name);

// Resolves the layout of the file at `path` from its first line (BOM and CR removed) and
// data.format / data.delimited. Errors are "path:1: reason" (InvalidArgument).
// REQUIRES: data.format() != BINARY.
Result<LineLayout> ResolveLayout(const std::string& path, std::string_view first_line,
                                 const config::DataConfig& data);

}  // namespace psrec::data
