// The prepared binary format: ratings partitioned by user into P parts that workers mmap.
//
// A prepared directory holds
//   MANIFEST              text, written last (by rename): format version, P, and per part
//                         the users, items, ratings and bytes of each split, then a line
//                         "checksum <16 hex digits>" (Checksum64 of all the lines before it).
//                         A directory without a valid MANIFEST is not a prepared directory.
//   train-00000.bin ...   one file per part p in [0, P): the ratings of the users u with
//   test-00000.bin ...    PartitionOfUser(u, P) == p (common/keys.h); test files only when a
//                         test set was given.
// A part file is little-endian (the build refuses big-endian hosts):
//   header (128 bytes): magic "PSRECRT1", u32 version (kPreparedVersion), u32 flags
//     (bit 0: timestamps, bit 1: user names, bit 2: item names), u32 part, u32 num_parts, u64 users, u64 items,
//     u64 ratings, u64 user name bytes, u64 item name bytes, u64 file bytes,
//     u64 payload checksum, u64 header checksum, zero padding. The header checksum is
//     Checksum64 (common/checksum.h) of the 128 header bytes with that field zero.
//   columns, each starting at a multiple of 64 bytes after the previous (zero padding):
//     user_ids u64[users], item_ids u64[items]           this part's dictionaries (keys)
//     user_index u32[ratings], item_index u32[ratings]  dense indices into them
//     rating f32[ratings], timestamp i64[ratings]        (timestamp when flag bit 0)
//     user name offsets u64[users + 1], user name chars  (when flag bit 1)
//     item name offsets u64[items + 1], item name chars  (when flag bit 2)
//     Name i is chars[offsets[i], offsets[i + 1]).
//   The payload checksum is Checksum64 of the columns' Checksum64s (u64 each, in the order
//   above), so that all columns can be written in one pass; padding must be zero.
// Dictionaries hold only the users and items that occur in the part, in the order of their
// index in the source columns; ratings keep their source order.
//
// Thread safety: functions may be called concurrently on different directories; readers may
// share a directory. Ownership: a RatingsShard from OpenPreparedPart keeps its mapping alive.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"
#include "data/ratings.h"
#include "common/status.h"

namespace psrec::data {

inline constexpr uint32_t kPreparedVersion = 1;

struct PrepareOptions {
  int parts = 1;  // REQUIRES: >= 1
  // fsync every file before the MANIFEST is renamed into place. Off by default: prepared
  // data can be regenerated from its source, and syncing costs more than the whole write.
  bool sync = false;
  int threads = 2;  // parts written at once
};

// Writes `dir` (created when missing) with `train` and, when not null, `test` partitioned by
// user. Streams: memory beyond the input is a few MiB of buffers per thread plus one index
// per distinct user and item, never a second copy of the ratings.
// REQUIRES: the columns are consistent (indices within the dictionaries, names empty or one
// per dictionary entry, timestamps empty or one per rating).
Status WritePrepared(const RatingColumns& train, const RatingColumns* test,
                     const PrepareOptions& options, const std::string& dir);

struct PreparedPartInfo {
  int64_t users = 0, items = 0, ratings = 0;
  uint64_t bytes = 0;
};

struct PreparedInfo {
  int parts = 0;
  bool has_test = false;
  bool has_timestamps = false;
  bool has_names = false;
  int64_t train_ratings = 0, test_ratings = 0;
  int64_t train_users = 0, train_items = 0;  // distinct in the train set
  int64_t test_users = 0, test_items = 0;    // distinct in the test set
  std::vector<PreparedPartInfo> train, test;  // per part; test empty without a test set
};

// Reads and checks `dir`/MANIFEST.
Result<PreparedInfo> ReadPreparedInfo(const std::string& dir);

// The file of one part, e.g. PreparedPartPath("d", "train", 3) == "d/train-00003.bin".
std::string PreparedPartPath(const std::string& dir, std::string_view split, int part);

// Maps part `part` of `split` ("train" or "test") and verifies its header and checksum;
// `expected_parts` (or -1 for any) must match the header's part count. Errors name the file
// and what is wrong: missing, bad magic, unsupported version, header checksum, truncated or
// oversized, inconsistent counts, payload checksum mismatch, indices out of range.
Result<RatingsShard> OpenPreparedPart(const std::string& dir, std::string_view split, int part,
                                      int expected_parts);

}  // namespace psrec::data
