// The per-chunk half of ReadRatingsFile (data/text_reader.h): a chunk's dictionaries, the
// parse of one byte range into the output columns, and the merge of chunk dictionaries.
// Internal to psrec_data.
//
// Thread safety: ParseChunk runs on one thread per chunk; chunks share only the read-only
// context and disjoint rows of the output columns.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/status.h"
#include "data/line_parser.h"

namespace psrec::data::internal {

// Keys below this are looked up in a flat array (4 bytes per key up to the largest seen):
// real data sets number their ids densely from 0 or 1, and an array probe is several times
// cheaper than a hash probe. The bound caps that array at 16 MiB per column and thread.
constexpr uint64_t kDirectKeyLimit = 1ULL << 22;

// Raw key -> dense index, in order of first appearance.
struct ColumnDictionary {
  std::vector<uint32_t> direct;  // key -> index + 1 (0: not seen), for key < kDirectKeyLimit
  absl::flat_hash_map<uint64_t, uint32_t> index;  // the other keys
  std::vector<uint64_t> keys;
  absl::flat_hash_map<uint64_t, std::string> names;  // ids that are not integers only

  uint32_t IndexOf(uint64_t key) {
    if (key < kDirectKeyLimit) {
      if (key >= direct.size()) {
        direct.resize(std::max<uint64_t>(key + 1, std::min(2 * direct.size(), kDirectKeyLimit)));
      }
      uint32_t& slot = direct[key];
      if (slot == 0) {
        keys.push_back(key);
        slot = static_cast<uint32_t>(keys.size());
      }
      return slot - 1;
    }
    auto [it, inserted] = index.try_emplace(key, static_cast<uint32_t>(keys.size()));
    if (inserted) keys.push_back(key);
    return it->second;
  }
  // Keeps the raw text of a string id; false when another text already has its key.
  bool RememberName(uint64_t key, std::string_view raw) {
    auto [it, inserted] = names.try_emplace(key, raw);
    return inserted || it->second == raw;
  }
};

// Where a chunk's rows go, and what it found.
struct Chunk {
  uint64_t begin = 0, end = 0;  // byte range
  uint64_t first_line = 1;      // 1-based number of its first line
  uint64_t lines = 0;           // lines in it (a last line without '\n' included)
  uint64_t slot = 0;            // index of its first row in the output columns
  uint64_t ratings = 0;
  int64_t skipped = 0;
  std::map<std::string, int64_t> skipped_by_reason;
  ColumnDictionary users, items;
  Status error;
  bool last = false;         // ends at the end of the file
  bool open_at_end = false;  // ends inside a quoted field: the cut split a record
};

struct OutputColumns {
  uint32_t* user_index;
  uint32_t* item_index;
  float* rating;
  int64_t* timestamp;  // null when the layout has no timestamps
};

struct ChunkContext {
  int fd;
  const std::string* path;
  const LineParser* parser;
  uint64_t header_first, header_last;  // lines of the header record; 0: none
  bool skip_bad_lines;
  size_t max_line_bytes;
  char terminator;
  bool quoting;  // RFC 4180 quotes: records may span lines
  char delimiter;
  OutputColumns out;
};

// "line is longer than N bytes (line endings read as ...)".
std::string TooLongReason(size_t max_line_bytes, char terminator);

// Parses chunk->[begin, end) into ctx.out from row chunk->slot on, filling chunk's
// dictionaries, counts and error. Records whose quoted fields hold line breaks are joined.
void ParseChunk(const ChunkContext& ctx, Chunk* chunk);

// Adds `local`'s keys to `global` in order; returns local index -> global index.
Result<std::vector<uint32_t>> MergeDictionary(const std::string& path, ColumnDictionary&& local,
                                              ColumnDictionary* global);

// The raw id of every dense index, or nothing when every id was an integer.
std::vector<std::string> NamesOf(const ColumnDictionary& dict);

}  // namespace psrec::data::internal
