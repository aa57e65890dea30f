// Helpers shared by the `psrec data` and `psrec bench ingest` subcommands: turning flags
// into a DataConfig, reading an input of any format, writing LIBMF text, and progress.
//
// Thread safety: functions are not meant for concurrent use on the same paths.
#pragma once

#include <string>

#include "data/dataset.h"
#include "common/proto/config.pb.h"
#include "data/ratings.h"
#include "common/status.h"
#include "data/text_reader.h"
#include "cli/data_input_flags.h"

namespace psrec::cli {

// Reads a text ratings file, printing "reading PATH ..." / "read N lines ..." to stderr when it
// is a terminal. The report's skipped lines are printed to stderr when there are any.
Result<data::RatingColumns> ReadTextInput(const std::string& path,
                                          const config::DataConfig& data,
                                          data::ReadReport* report);

// Writes `columns` as LIBMF text ("user item rating" per line; raw names when the columns
// have them, keys otherwise) to `path`.
Status WriteLibmfText(const data::RatingColumns& columns, const std::string& path);

// True when stderr is a terminal: progress lines are printed only then.
bool ProgressWanted();

// Total size in bytes of the regular files directly inside `dir`.
uint64_t DirectoryBytes(const std::string& dir);

}  // namespace psrec::cli
