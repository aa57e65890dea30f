// Id text files: the original text of string ids (key -> raw id, common/keys.h), stored beside
// the rows since checkpoint format 3 so that tools print "0155061224", not "#<hex>".
//
// Each worker writes one file per table whose ids in its data include strings,
// "<table>-<worker>.ids" (IdTextFileName), listed in Manifest.id_files with its size,
// checksum, table id, the worker as `shard` and its entry count as `rows`. Workers may list
// the same key (items rated on several workers); every copy has the same text. Only ids
// whose text is not their key in decimal are stored: integer ids name themselves.
//
//   header, 32 bytes:
//      0  char[8] magic "PSRECIDS"
//      8  u32     format version (kCheckpointFormatVersion)
//     12  u32     table id
//     16  u64     entries
//     24  u64     Checksum64 of bytes 0..23
//   entries: per entry u64 key, u32 length, `length` bytes of text (as read: not re-encoded)
//   trailer: u64 Checksum64 (common/checksum.h) of every preceding byte of the file
//
// Problems are Corruption (or NotFound for a missing file) naming the file.
//
// Thread safety: pure functions; ReadIdText reads files and may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/proto/checkpoint.pb.h"
#include "common/keys.h"
#include "common/status.h"

namespace psrec::checkpoint {

using IdTextEntries = std::vector<std::pair<uint64_t, std::string>>;
using IdTextMap = std::unordered_map<uint64_t, std::string>;

inline constexpr char kIdTextMagic[8] = {'P', 'S', 'R', 'E', 'C', 'I', 'D', 'S'};
inline constexpr size_t kIdTextHeaderBytes = 32;
// Longest text of one id (the data readers' line limit is 1 MiB).
inline constexpr uint32_t kMaxIdTextBytes = 1u << 20;

// True when `text` must be stored to be printed: it is not `key` in decimal.
bool NeedsIdText(uint64_t key, std::string_view text);

// The whole file (header, entries, trailer) for `entries` of table `table`.
std::string EncodeIdTextFile(TableId table, const IdTextEntries& entries);

// Checks `bytes` (the file at `path`) against its manifest entry and adds its entries to
// `out` (a key already there keeps its text).
Status DecodeIdTextFile(const std::string& path, std::string_view bytes,
                        const checkpoint::FileInfo& file, IdTextMap* out);

// Checks the file of `file` in `dir`: its size, and with `verify` its whole contents.
Status CheckIdTextFile(const std::string& dir, const checkpoint::FileInfo& file, bool verify);

// The text of every string id of `table` over all its id files; empty for a format-2
// checkpoint or a table without string ids.
Result<IdTextMap> ReadIdText(const LoadedCheckpoint& checkpoint, TableId table);

}  // namespace psrec::checkpoint
