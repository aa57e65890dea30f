// WorkerCheckpointer: a worker's part of a coordinated checkpoint (protocol:
// wire/proto/wire.proto, "Checkpoints"; layout: checkpoint/checkpoint_format.h).
//
// The trainer calls Take at a clock boundary that every worker agreed on, after the
// epoch's Flush and a barrier (so every push of every worker is applied), then a barrier
// (so nobody pushes before every copy is taken), then StartWrites:
//   - worker 0 asks every server to copy its tables (client::PsClient::TakeCheckpoint);
//   - a worker holding LOCAL user rows copies them.
// That copy is the whole training pause. Everything else happens on this object's
// background thread, in order, one checkpoint after another:
//   - every worker writes its id text files (the text of its data's string ids, one file per
//     table: checkpoint/id_text_file.h) and, when it owns LOCAL rows, its rows file, and
//     reports them to server 0;
//   - worker 0 waits until every server's files are on disk (AwaitCheckpointWritten), then
//     writes the MANIFEST (atomic rename: the checkpoint now exists) with every file's size
//     and checksum, and prunes old checkpoints (checkpoint::PruneCheckpoints, keep_last).
//
// Failures of the background work are sticky: Take returns the first one at the next
// checkpoint and Finish at the end of training, so a failed write fails the job with its
// message (naming the server or worker and the file).
//
// Thread safety: Take, status and Finish are for the trainer thread. The background thread
// uses the client::PsClient's checkpoint calls, which are safe beside the trainer's calls.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "checkpoint/checkpoint_writer.h"
#include "common/proto/config.pb.h"
#include "common/status.h"
#include "table/embedding_table.h"
#include "table/table_spec.h"
#include "client/ps_client.h"

namespace psrec::train {

struct WorkerCheckpointerOptions {
  const config::JobConfig* job = nullptr;  // checkpoint.dir must be set
  std::vector<TableSpec> tables;           // the model's tables (models::TableSpecsFor)
  int rank = 0;
  int num_workers = 1;
  int num_servers = 1;
  client::PsClient* client = nullptr;
  const table::EmbeddingTable* local_users = nullptr;  // LOCAL user rows of this worker, or null
  // The text of this worker's string ids per table (train/worker_id_text.h), written into
  // every checkpoint; worker = rank.
  std::vector<checkpoint::IdTextToWrite> id_text;
};

// Where a checkpoint stands in training.
struct CheckpointPoint {
  int64_t step = 0;   // batches per worker completed since the start of training
  int epoch = 0;      // epochs completed
  int64_t clock = 0;  // the clock every worker is at
  std::map<std::string, double> model_scalars;  // Model::scalars()
};

class WorkerCheckpointer {
 public:
  explicit WorkerCheckpointer(const WorkerCheckpointerOptions& options);
  // Drops queued work that Finish did not wait for.
  ~WorkerCheckpointer();
  WorkerCheckpointer(const WorkerCheckpointer&) = delete;
  WorkerCheckpointer& operator=(const WorkerCheckpointer&) = delete;

  // Takes this worker's part of the checkpoint at `point`; returns the seconds the copy
  // took (worker 0: the slowest server's copy, or its own when longer). Fails with an
  // earlier background failure.
  Result<double> Take(const CheckpointPoint& point);
  // After the barrier that follows Take on every worker: starts this worker's background
  // work of the checkpoint. (Worker 0 may clear a stale directory of the same step in
  // Take; nobody writes into it before the barrier.)
  void StartWrites();
  // Waits for every queued write and manifest; the first failure.
  Status Finish();

 private:
  void Loop();
  void Enqueue(std::function<Status()> task);
  // Writes this worker's files (LOCAL rows when `snapshot`, id text) and reports them.
  Status WriteWorkerFiles(const CheckpointPoint& point, const std::string& dir,
                          const table::TableSnapshot* snapshot);
  Status Commit(const CheckpointPoint& point, const std::string& dir);

  const WorkerCheckpointerOptions options_;
  const std::string root_;
  std::vector<std::function<Status()>> taken_;  // trainer thread: Take's tasks until StartWrites

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<Status()>> tasks_;  // GUARDED_BY(mu_)
  bool busy_ = false;                          // GUARDED_BY(mu_): a task is running
  bool stopping_ = false;                      // GUARDED_BY(mu_)
  Status failure_;                             // GUARDED_BY(mu_): the first failed task
  std::thread thread_;
};

}  // namespace psrec::train
