// Reading and validating checkpoints (layout: checkpoint/checkpoint_format.h), and loading their rows
// into tables, with a filter so that a job of another shape loads only its own rows
// (resharding):
//   server s of S:          LoadRowsInto(ckpt, id, [&](uint64_t k) {
//                             return ServerOf(id, k, S) == s; }, &table);
//   worker w of W (LOCAL):  LoadLocalRows(ckpt, id, w, W, &table);
//
// Every problem is a Status naming the file and what is wrong (NotFound for a missing
// directory or MANIFEST, Corruption for bad bytes, sizes, versions or checksums); nothing
// here crashes on bad input.
//
// Thread safety: functions are independent; a LoadedCheckpoint is an immutable value.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "checkpoint/proto/checkpoint.pb.h"
#include "common/status.h"
#include "table/table_spec.h"
#include "table/embedding_table.h"

namespace psrec::checkpoint {

struct LoadedCheckpoint {
  std::string dir;
  checkpoint::Manifest manifest;

  // nullptr when absent.
  const checkpoint::TableInfo* FindTable(TableId id) const;
  const checkpoint::TableInfo* FindTable(const std::string& name) const;
};

struct ReadCheckpointOptions {
  // Read every rows file whole and check its checksum (sizes and headers are always
  // checked). Off for quick listings.
  bool verify_checksums = true;
};

// Reads dir/MANIFEST, checks its own checksum (checkpoint/manifest_file.h: a flipped bit, an
// empty or truncated MANIFEST is a Corruption naming it), then checks it against the files:
// version, job identity present, tables, names, sizes, headers, row counts and (by default)
// the rows files' checksums.
Result<LoadedCheckpoint> ReadCheckpoint(const std::string& dir,
                                        const ReadCheckpointOptions& options = {});

// The spec a table was saved with.
TableSpec TableSpecOf(const checkpoint::TableInfo& info);

// Calls fn(key, payload, state) for every row of every file of `table` (state is nullptr when
// the table has no optimizer state), verifying each file's checksum as it is read. On error
// fn may already have seen part of the rows.
Status ForEachCheckpointRow(
    const LoadedCheckpoint& checkpoint, TableId table,
    const std::function<void(uint64_t key, const float* payload, const float* state)>& fn);

// Like ForEachCheckpointRow, a chunk of rows at a time: fn(keys, rows) where rows holds
// keys.size() rows of dim + state_floats floats (payload, then state).
Status ForEachCheckpointChunk(
    const LoadedCheckpoint& checkpoint, TableId table,
    const std::function<void(std::span<const uint64_t> keys, const float* rows)>& fn);

// Upserts the rows of `table` whose key passes `filter` (null: all) into `out`. When the
// saved optimizer state does not fit out's optimizer (another optimizer), rows get out's
// initial state. REQUIRES: out->dim() equals the saved dim (else InvalidArgument). On error
// `out` holds part of the rows: discard it.
Status LoadRowsInto(const LoadedCheckpoint& checkpoint, TableId table,
                    const std::function<bool(uint64_t key)>& filter, table::EmbeddingTable* out);

// A LOCAL table's rows for worker `worker` of `num_workers`: those of the users in its data
// partition (PartitionOfUser), whichever partitions the checkpoint was written by. A
// checkpoint without the table loads nothing (a fresh LOCAL table).
Status LoadLocalRows(const LoadedCheckpoint& checkpoint, TableId table, int worker,
                     int num_workers, table::EmbeddingTable* out);

// A table holding every row of `table`, built from its saved spec.
Result<table::EmbeddingTable> LoadWholeTable(const LoadedCheckpoint& checkpoint, TableId table);

}  // namespace psrec::checkpoint
