// The ratings a worker trains and evaluates on, and how a worker gets them.
//
// RatingsShard is a read-only, columnar view (same layout as RatingColumns, data/ratings.h)
// whose memory is kept alive by `storage`: an mmap of a prepared part (data/binary_format.h)
// or vectors moved in by ShardFromColumns. Copying a shard copies the view and shares the
// storage.
//
// LoadWorkerData gives worker `worker` of `num_workers` the ratings of exactly the users u
// with PartitionOfUser(u, num_workers) == worker (common/keys.h), for train and for test, so
// the shares of all workers are disjoint and their union is the whole data set. Which rating
// is train or test never depends on num_workers (see data/split.h).
//
// Thread safety: a shard is immutable and may be read from any number of threads.
// LoadWorkerData may be called concurrently (for example by the workers of `psrec sim`).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/proto/config.pb.h"
#include "data/ratings.h"
#include "common/status.h"

namespace psrec::data {

// Raw ids per dense index (RatingColumns::user_names as offsets into one block of chars).
// Empty when every raw id of the source was an integer.
struct NameColumn {
  std::span<const uint64_t> offsets;  // size() + 1 entries; name i is chars[offsets[i], offsets[i+1])
  std::string_view chars;

  size_t size() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  bool empty() const { return size() == 0; }
  // REQUIRES: i < size().
  std::string_view operator[](size_t i) const {
    return chars.substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
};

struct RatingsShard {
  std::span<const uint64_t> user_ids, item_ids;      // dense index -> key
  std::span<const uint32_t> user_index, item_index;  // per rating
  std::span<const float> rating;                     // per rating
  std::span<const int64_t> timestamp;                // per rating; empty when absent
  NameColumn user_names, item_names;                 // empty unless the source had string ids
  std::shared_ptr<const void> storage;               // keeps the memory above alive

  size_t size() const { return rating.size(); }
  bool has_timestamps() const { return !timestamp.empty(); }
};

// A shard that owns `columns`.
RatingsShard ShardFromColumns(RatingColumns columns);

// A shard with the dictionaries of `shard` (ids and names) and no ratings: what a trainer
// keeps once it has copied the ratings into its own layout, so that they are not held twice.
RatingsShard DictionariesOnly(const RatingsShard& shard);

// A deep copy of a shard's columns (names included).
RatingColumns ColumnsFromShard(const RatingsShard& shard);

struct WorkerData {
  RatingsShard train, test;
};

// Loads this worker's share, by the sources of config::DataConfig:
//  - format BINARY: train_path is a prepared directory. When it was prepared with
//    num_workers parts, only part `worker` is mapped (no worker reads another's bytes);
//    otherwise every part is read and filtered by user, with a warning. Test ratings are the
//    directory's test parts; test_path must be empty.
//  - a text format: the file is read with ReadRatingsFile (data/text_reader.h), split by
//    data.split (GIVEN reads test_path; RANDOM and LEAVE_LAST_OUT split train_path) and then
//    filtered by user. Every worker reads and holds the whole file for a moment: for large
//    data, prepare it (psrec data prepare) and use BINARY.
//  - train_path empty and data.synthetic set: GenerateSynthetic (data/synthetic.h) for this
//    worker's users only.
// Dictionaries of the returned shards hold only the users and items that occur in them.
// REQUIRES: 0 <= worker < num_workers.
Result<WorkerData> LoadWorkerData(const config::DataConfig& data, int worker, int num_workers);

}  // namespace psrec::data
