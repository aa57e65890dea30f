// RunWorker: everything one worker does in a job, shared by `psrec train` (an MPI rank) and
// `psrec sim` (a thread): load its share of the data, connect to the servers, build the
// table accesses for its placement (LOCAL user rows stay in this process), load them from
// a checkpoint when resuming, train (taking checkpoints when checkpoint.dir is set).
//
// Thread safety: one call per worker thread; the options' pointers must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "train/client_update.h"
#include "common/status.h"
#include "checkpoint/checkpoint_reader.h"
#include "table/embedding_table.h"
#include "train/collective.h"
#include "client/ps_client.h"
#include "train/run_report.h"
#include "train/trainer.h"

namespace psrec::cli {

struct WorkerRunOptions {
  const config::JobConfig* job = nullptr;
  int worker = 0;
  int num_workers = 1;
  std::vector<std::string> servers;  // "host:port", index = server id
  std::string secret;  // the job secret (cli/job_secret.h); never sent
  train::Collective* collective = nullptr;
  train::RunReport* report = nullptr;  // worker 0 only
  bool progress = false;
  bool print_epochs = true;
  double compute_slowdown = 1;
  client::NetworkFaults faults;
  // What the PS client runs over (null: the real transport), whether it may move to the
  // servers' local sockets, and how long a lost connection may take to come back
  // (client::PsClientOptions; `psrec sim --faults`).
  wire::Transport* transport = nullptr;
  bool use_local_socket = true;
  std::chrono::milliseconds reconnect_budget{0};
  const std::atomic<bool>* cancel = nullptr;
  const std::atomic<bool>* stop = nullptr;  // graceful stop (train::TrainerOptions::stop)
  std::function<Status(int64_t step)> after_batch;  // test seam (TrainerOptions::after_batch)
  // Test seam (TrainerOptions::client_update_tap).
  std::function<void(const train::ClientUpdate&)> client_update_tap;
  // Resume from this checkpoint directory (root/step-N; empty: a fresh start): LOCAL user
  // rows of this worker's users, and where training continues (epoch, step, clock, mean).
  std::string resume_from;
  // Filled on success: per-epoch metrics (identical on every worker after reduction).
  std::vector<train::EpochMetrics>* history = nullptr;
  // Filled on success after a graceful stop: the epochs done (Trainer::stopped_after_epoch).
  std::optional<int>* stopped_after_epoch = nullptr;
};

Status RunWorker(const WorkerRunOptions& options);

}  // namespace psrec::cli
