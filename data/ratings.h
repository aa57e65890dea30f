// RatingColumns: ratings in memory, dictionary-encoded and columnar. This is what readers
// produce, what splits and the synthetic generator work on, and what the binary format
// (data/binary_format.h) stores per partition; RatingsShard (data/dataset.h) is a view
// of the same columns.
//
// user_ids / item_ids map dense indices to keys (common/keys.h: integer raw ids are
// themselves, other strings hash). user_names / item_names are empty when every raw id was
// an integer; otherwise they hold the raw id of each dense index, for reports and exports.
//
// Thread safety: a plain value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace psrec::data {

struct RatingColumns {
  std::vector<uint64_t> user_ids;     // dense user index -> key
  std::vector<uint64_t> item_ids;     // dense item index -> key
  std::vector<std::string> user_names;  // empty, or raw id per dense user index
  std::vector<std::string> item_names;  // empty, or raw id per dense item index
  std::vector<uint32_t> user_index;   // per rating
  std::vector<uint32_t> item_index;   // per rating
  std::vector<float> rating;          // per rating
  std::vector<int64_t> timestamp;     // per rating, or empty when the source has none

  size_t size() const { return rating.size(); }
  bool has_timestamps() const { return !timestamp.empty(); }
};

}  // namespace psrec::data
