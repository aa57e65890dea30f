// Internal to the prepared binary format (data/binary_format.h): the part header and
// where each column of a part file lies. Shared by the writer and the reader so that the
// two can never disagree.
//
// Thread safety: pure values and functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "common/checksum.h"

namespace psrec::data::internal {

inline constexpr char kPartMagic[8] = {'P', 'S', 'R', 'E', 'C', 'R', 'T', '1'};
inline constexpr uint64_t kHeaderBytes = 128;
inline constexpr uint64_t kColumnAlign = 64;
inline constexpr uint32_t kFlagTimestamps = 1u << 0;
inline constexpr uint32_t kFlagUserNames = 1u << 1;
inline constexpr uint32_t kFlagItemNames = 1u << 2;
// Counts beyond this are corruption, not data: it keeps every offset computation far from
// overflowing 64 bits.
inline constexpr uint64_t kMaxCount = 1ULL << 40;

struct PartHeader {
  char magic[8];
  uint32_t version;
  uint32_t flags;
  uint32_t part;
  uint32_t num_parts;
  uint64_t users;
  uint64_t items;
  uint64_t ratings;
  uint64_t user_name_bytes;
  uint64_t item_name_bytes;
  uint64_t file_bytes;
  uint64_t payload_checksum;
  uint64_t header_checksum;
  unsigned char padding[40];
};
static_assert(sizeof(PartHeader) == kHeaderBytes);

inline uint64_t HeaderChecksum(PartHeader header) {
  header.header_checksum = 0;
  return Checksum64::Of(&header, sizeof(header));
}

// The columns of a part file, in file order.
enum Column : int {
  kUserIds,
  kItemIds,
  kUserIndex,
  kItemIndex,
  kRating,
  kTimestamp,
  kUserNameOffsets,
  kUserNameChars,
  kItemNameOffsets,
  kItemNameChars,
  kNumColumns,
};

struct PartLayout {
  uint64_t offset[kNumColumns] = {};  // absent columns: offset of the next, 0 bytes
  uint64_t bytes[kNumColumns] = {};
  uint64_t file_bytes = 0;
};

// REQUIRES: counts and name bytes <= kMaxCount.
inline PartLayout ComputeLayout(const PartHeader& h) {
  const bool ts = (h.flags & kFlagTimestamps) != 0;
  const bool user_names = (h.flags & kFlagUserNames) != 0;
  const bool item_names = (h.flags & kFlagItemNames) != 0;
  PartLayout layout;
  layout.bytes[kUserIds] = 8 * h.users;
  layout.bytes[kItemIds] = 8 * h.items;
  layout.bytes[kUserIndex] = 4 * h.ratings;
  layout.bytes[kItemIndex] = 4 * h.ratings;
  layout.bytes[kRating] = 4 * h.ratings;
  layout.bytes[kTimestamp] = ts ? 8 * h.ratings : 0;
  layout.bytes[kUserNameOffsets] = user_names ? 8 * (h.users + 1) : 0;
  layout.bytes[kUserNameChars] = user_names ? h.user_name_bytes : 0;
  layout.bytes[kItemNameOffsets] = item_names ? 8 * (h.items + 1) : 0;
  layout.bytes[kItemNameChars] = item_names ? h.item_name_bytes : 0;
  uint64_t end = kHeaderBytes;
  for (int c = 0; c < kNumColumns; ++c) {
    if (layout.bytes[c] == 0) {
      layout.offset[c] = end;
      continue;
    }
    layout.offset[c] = (end + kColumnAlign - 1) / kColumnAlign * kColumnAlign;
    end = layout.offset[c] + layout.bytes[c];
  }
  layout.file_bytes = end;
  return layout;
}

inline uint64_t PayloadChecksum(const uint64_t (&column_checksums)[kNumColumns]) {
  return Checksum64::Of(column_checksums, sizeof(column_checksums));
}

}  // namespace psrec::data::internal

namespace psrec::data {
struct PreparedInfo;
}

namespace psrec::data::internal {

// The MANIFEST text: "key value" lines, in the order FormatManifest writes them.
std::string FormatManifest(const PreparedInfo& info);

}  // namespace psrec::data::internal
