// Writing checkpoints (layout: checkpoint/checkpoint_format.h).
//
// Crash safety: every file is written under a temporary name, fsynced and renamed; the
// MANIFEST is written last, the same way, after the directory is fsynced. A crash at any
// moment leaves either no MANIFEST (the directory is not a checkpoint; readers and ListCheckpoints
// say why) or a complete checkpoint.
//
// In a distributed job each server writes its shards with WriteCheckpointShard (and each
// worker its LOCAL user rows), hands the FileInfos to one coordinator, which writes the
// MANIFEST with WriteManifest. To keep training off the disk path, take
// table::EmbeddingTable::Snapshot() at the clock boundary and write the snapshot's rows() from a
// background thread. WriteCheckpoint does all of it for tables held by one process.
//
// Usage:
//   checkpoint::FileInfo info;
//   RETURN_IF_ERROR(WriteCheckpointShard(table.rows(), dir, /*shard=*/server_id,
//                                        /*local=*/false, &info));
//
// Thread safety: functions may run concurrently on different files. A CheckpointFaults
// object is used by one writer thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "checkpoint/id_text_file.h"
#include "checkpoint/proto/checkpoint.pb.h"
#include "common/status.h"
#include "table/table_spec.h"
#include "table/embedding_table.h"
#include "table/table_rows.h"

namespace psrec::checkpoint {

// Test seam: makes writers stop early, leaving partial or temporary files behind exactly as
// a crash would (no clean-up), and return Aborted. Counted over every file written with the
// same object. An operation is: create a file, write one chunk, fsync, rename, fsync a dir.
struct CheckpointFaults {
  int64_t stop_after_bytes = -1;       // write at most this many bytes in total; -1: no limit
  int64_t stop_before_operation = -1;  // fail operation number N (0-based); -1: never
  // Progress so far (read by tests to enumerate crash points).
  int64_t bytes_written = 0;
  int64_t operations = 0;
};

// Writes one rows file at `path` (temp name, fsync, rename). Fills info's name (the base
// name of path), bytes, checksum, table_id and rows; the caller sets shard.
Status WriteTableShard(const table::TableRows& rows, const std::string& path,
                       checkpoint::FileInfo* info, CheckpointFaults* faults = nullptr);
Status WriteTableShard(const table::EmbeddingTable& table, const std::string& path,
                       checkpoint::FileInfo* info, CheckpointFaults* faults = nullptr);

// Creates `checkpoint_dir` if needed and writes RowsFileName(table, shard, local) in it.
Status WriteCheckpointShard(const table::TableRows& rows, const std::string& checkpoint_dir, int shard,
                            bool local, checkpoint::FileInfo* info,
                            CheckpointFaults* faults = nullptr);

// Creates `checkpoint_dir` if needed and writes IdTextFileName(table_name, worker) in it
// (checkpoint/id_text_file.h; temp name, fsync, rename). Fills info's name, bytes, checksum,
// table_id, shard (= worker) and rows (= entries).
Status WriteIdTextFile(TableId table, const std::string& table_name, const IdTextEntries& entries,
                       const std::string& checkpoint_dir, int worker, checkpoint::FileInfo* info,
                       CheckpointFaults* faults = nullptr);

// Writes `checkpoint_dir`/MANIFEST last by atomic rename, fsyncing the directory before (the
// rows files' renames) and after. Sets format_version, created_unix_ms when unset, and
// identity from manifest.job when unset (checkpoint/job_identity.h); the file is framed and
// checksummed (checkpoint/manifest_file.h).
Status WriteManifest(const std::string& checkpoint_dir, checkpoint::Manifest manifest,
                     CheckpointFaults* faults = nullptr);

// The manifest entry of a table.
checkpoint::TableInfo TableInfoOf(const TableSpec& spec, int state_floats, uint64_t rows);

struct ShardToWrite {
  table::TableRows rows;
  int shard = 0;
  bool local = false;  // a worker's LOCAL user rows
};

struct IdTextToWrite {
  TableId table = 0;
  std::string table_name;
  int worker = 0;
  IdTextEntries entries;
};

// Writes `root`/step-<manifest.step>/ with every shard, every id text file and the MANIFEST;
// fills manifest.files, manifest.id_files and (when manifest.tables is empty)
// manifest.tables from the shards.
// Refuses (InvalidArgument) to overwrite a directory that already has a MANIFEST. Returns
// the checkpoint directory.
Result<std::string> WriteCheckpoint(const std::string& root, checkpoint::Manifest manifest,
                                    std::span<const ShardToWrite> shards,
                                    CheckpointFaults* faults = nullptr,
                                    std::span<const IdTextToWrite> id_text = {});

}  // namespace psrec::checkpoint
