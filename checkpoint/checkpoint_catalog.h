// The checkpoints under a checkpoint root (checkpoint.dir): listing with validity, the
// latest valid one (for --resume) and retention.
//
// Thread safety: functions are independent, but PruneCheckpoints must not race a writer of
// the same root (the trainer prunes after each completed checkpoint, on the writer thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace psrec::checkpoint {

struct CheckpointListing {
  std::string path;  // root/step-N
  std::string name;  // step-N
  int64_t step = -1;
  int epoch = -1;               // from the manifest; -1 when invalid
  int64_t created_unix_ms = 0;  // from the manifest; else the directory's mtime
  uint64_t bytes = 0;           // all files in the directory
  bool valid = false;
  std::string why;  // why not valid
};

// Every step-N directory under root, by increasing step. Validity is ReadCheckpoint's
// (checksums only with verify_checksums). NotFound when root does not exist.
Result<std::vector<CheckpointListing>> ListCheckpoints(const std::string& root,
                                                       bool verify_checksums = false);

// The valid checkpoint with the highest step (checksums verified), logging a warning for
// each newer invalid one it skips. NotFound when there is none.
Result<std::string> LatestValidCheckpoint(const std::string& root);

// Keeps the keep_last valid checkpoints with the highest steps and deletes older ones and
// invalid directories older than the newest valid checkpoint (newer ones may be in
// progress). Never deletes the only valid checkpoint. Returns the removed paths.
// REQUIRES: keep_last >= 1 (else InvalidArgument).
Result<std::vector<std::string>> PruneCheckpoints(const std::string& root, int keep_last);

}  // namespace psrec::checkpoint
