// RunWorker: everything one worker does in a job, shared by `psrec train` (an MPI rank) and
// `psrec sim` (a thread): load its share of the data, connect to the servers, build the
// table accesses for its placement (LOCAL user rows stay in this process), load them from
// a checkpoint when resuming, train (taking checkpoints when checkpoint.dir is set).
//
// Thread safety: one call per worker thread; the options' pointers must outlive it.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "ps/checkpoint_reader.h"
#include "ps/embedding_table.h"
#include "worker/collective.h"
#include "worker/ps_client.h"
#include "worker/run_report.h"
#include "worker/trainer.h"

namespace psrec::launcher {

struct WorkerRunOptions {
  const config::JobConfig* job = nullptr;
  int worker = 0;
  int num_workers = 1;
  std::vector<std::string> servers;  // "host:port", index = server id
  worker::Collective* collective = nullptr;
  worker::RunReport* report = nullptr;  // worker 0 only
  bool progress = false;
  bool print_epochs = true;
  double compute_slowdown = 1;
  worker::NetworkFaults faults;
  const std::atomic<bool>* cancel = nullptr;
  // Resume from this checkpoint directory (root/step-N; empty: a fresh start): LOCAL user
  // rows of this worker's users, and where training continues (epoch, step, clock, mean).
  std::string resume_from;
  // Filled on success: per-epoch metrics (identical on every worker after reduction).
  std::vector<worker::EpochMetrics>* history = nullptr;
};

Status RunWorker(const WorkerRunOptions& options);

// Loads into `table` the rows of `checkpoint`'s user table that belong to worker `worker` of
// `num_workers` (PartitionOfUser), from every file of the table: the checkpoint may come from
// another number of workers, or from servers when the user table was REMOTE. A checkpoint
// without a user table loads nothing.
Status LoadLocalUserRows(const ps::LoadedCheckpoint& checkpoint, int worker, int num_workers,
                         ps::EmbeddingTable* table);

}  // namespace psrec::launcher
