// The on-disk layout of a checkpoint. Everything is little-endian.
//
//   <checkpoint.dir>/step-<N>/            one checkpoint (N = Manifest.step, zero-padded)
//     MANIFEST                            checkpoint.Manifest, framed (below), written last
//     <table>-<shard>.rows                one rows file per server shard ("item-0.rows")
//     <table>-local-<partition>.rows      a worker's LOCAL user rows ("user-local-3.rows")
//     <table>-<worker>.ids                the text of a worker's string ids (format 3;
//                                         checkpoint/id_text_file.h)
//
// A rows file:
//   header, 64 bytes:
//     0  char[8] magic "PSRECROW"
//     8  u32 format version (kCheckpointFormatVersion)
//    12  u32 table id
//    16  u32 dim (payload floats per row)
//    20  u32 state floats per row
//    24  u64 rows
//    32  u64 Checksum64 of bytes 0..31 (so a bad header is told apart from bad data)
//    40  24 bytes zero
//   keys:  rows x u64, in row order
//   rows:  rows x (dim + state) f32: payload (factors, then bias), then optimizer state
//   trailer: u64 Checksum64 (common/checksum.h) of every preceding byte of the file
// The file size is therefore 64 + rows * (8 + 4 * (dim + state)) + 8, which is how a
// truncated file is detected before reading its body.
//
// A MANIFEST file (checkpoint/manifest_file.h):
//     0  char[8] magic "PSRECMAN"
//     8  u64 L: bytes of the body
//    16  body: checkpoint.Manifest, binary Protobuf, L bytes
//  16+L  u64 Checksum64 of bytes 0 .. 16+L-1 (magic, length and body)
// so its size is L + 24. Every reader checks the checksum before parsing: one flipped bit
// anywhere (a model scalar, a file's checksum, the length) is a Corruption naming the file.
// The manifest also carries the identity of the job that wrote it (Manifest.identity:
// checkpoint/job_identity.h), which resume checks.
//
// Thread safety: constants and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/keys.h"

namespace psrec::checkpoint {

// 2: tables named by the model, model scalars by name (Manifest.model_scalars), the MANIFEST
// framed and checksummed, the writing job's identity. Format 1 (a bare Protobuf MANIFEST,
// biased MF's global mean in a field of its own, user_table/item_table in the job) is
// refused with a message that says so.
// 3: id text files (Manifest.id_files) beside the rows; otherwise format 2, which is still
// read (its string ids have no text). Rows files carry their checkpoint's format version.
inline constexpr uint32_t kCheckpointFormatVersion = 3;
inline constexpr uint32_t kOldestReadableFormatVersion = 2;
inline constexpr char kRowsFileMagic[8] = {'P', 'S', 'R', 'E', 'C', 'R', 'O', 'W'};
inline constexpr size_t kRowsHeaderBytes = 64;
inline constexpr size_t kRowsTrailerBytes = 8;
inline constexpr char kManifestName[] = "MANIFEST";
inline constexpr char kManifestMagic[8] = {'P', 'S', 'R', 'E', 'C', 'M', 'A', 'N'};
inline constexpr size_t kManifestHeaderBytes = 16;  // magic, body length
inline constexpr size_t kManifestTrailerBytes = 8;  // Checksum64
inline constexpr char kCheckpointPrefix[] = "step-";

struct RowsFileHeader {
  uint32_t version = 0;
  TableId table_id = 0;
  uint32_t dim = 0;
  uint32_t state_floats = 0;
  uint64_t rows = 0;

  uint64_t row_floats() const { return uint64_t{dim} + state_floats; }
  // Size of the whole file this header describes.
  uint64_t FileBytes() const {
    return kRowsHeaderBytes + rows * (8 + 4 * row_floats()) + kRowsTrailerBytes;
  }
};

// Encodes `header` into 64 bytes (magic, fields, header checksum).
void EncodeRowsHeader(const RowsFileHeader& header, unsigned char out[kRowsHeaderBytes]);
// Decodes 64 bytes; false when the magic or the header checksum is wrong.
bool DecodeRowsHeader(const unsigned char in[kRowsHeaderBytes], RowsFileHeader* header);

// "step-000000001234" for step 1234 (sorts by step as text).
std::string CheckpointDirName(int64_t step);
// The step of a directory name made by CheckpointDirName, or -1.
int64_t StepOfCheckpointDirName(const std::string& name);
// "item-0.rows" / "user-local-3.rows".
std::string RowsFileName(const std::string& table_name, int shard, bool local);
// "user-2.ids": worker 2's id text of table user.
std::string IdTextFileName(const std::string& table_name, int worker);

}  // namespace psrec::checkpoint
