// Reading a ratings text file into RatingColumns (data/ratings.h).
//
// Formats (config::DataFormat): MovieLens u.data / uN.base (TSV), ratings.dat ('::'),
// MovieLens CSV with a userId,movieId,rating[,timestamp] header, LIBMF 'u i r', and
// DELIMITED with data.delimited's column mapping. AUTO detects the format from the first
// line and fails, naming what it saw, when no single format fits (data/format_detect.h).
//
// Ids become keys by KeyOfRawId (common/keys.h); dense indices are given in order of first
// appearance in the file. When any id of a column is not an integer, that column's names
// hold the raw id of every dense index (integer ids as their decimal form).
//
// Bad input never crashes and never passes silently. Every error is one line
// "file:line: reason" (InvalidArgument; NotFound for a missing file): wrong field count or
// delimiter, empty / negative / overflowing ids, ratings that are not finite numbers or lie
// outside [data.min_rating, data.max_rating], bad timestamps, lines over 1 MiB, empty files.
// Accepted: CRLF endings, a UTF-8 BOM, blank lines, a last line without '\n'. With
// data.skip_bad_lines, bad lines are counted by reason in ReadReport instead.
//
// Speed: the file is split at line boundaries into one chunk per thread; each thread reads
// its chunk with pread into a bounded buffer, parses and dictionary-encodes it with a local
// map; the local dictionaries are then merged in chunk order, which gives the same indices
// as a sequential read. Memory is the output columns plus the dictionaries plus a few MiB.
//
// Thread safety: ReadRatingsFile may be called from several threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/proto/config.pb.h"
#include "data/ratings.h"
#include "common/status.h"

namespace psrec::data {

struct ReadReport {
  int64_t lines = 0;    // all lines, header and blank lines included
  int64_t ratings = 0;  // ratings returned
  int64_t skipped = 0;  // bad lines skipped (data.skip_bad_lines)
  std::map<std::string, int64_t> skipped_by_reason;
};

// Tuning knobs; the defaults are what production uses. Tests shrink them to exercise
// chunk boundaries and long lines on small files.
struct TextReadOptions {
  int threads = 0;                        // 0: the CPUs this process may use, at most 8
  uint64_t min_chunk_bytes = 4ULL << 20;  // smaller files are read by fewer threads
  size_t max_line_bytes = 1 << 20;        // longer lines are errors ("line too long")
};

// Reads `path` as data.format (not BINARY). `report` may be null.
Result<RatingColumns> ReadRatingsFile(const std::string& path, const config::DataConfig& data,
                                      ReadReport* report);
Result<RatingColumns> ReadRatingsFile(const std::string& path, const config::DataConfig& data,
                                      ReadReport* report, const TextReadOptions& options);

// "wrong field count: 3, rating out of range: 1" (empty when nothing was skipped).
std::string FormatSkipped(const ReadReport& report);

}  // namespace psrec::data
