// RunSimulation: a whole job in one process. S parameter servers and W workers run as
// threads and talk over loopback TCP with exactly the code `psrec train` runs as MPI ranks;
// reductions go through a ThreadCollectiveGroup instead of MPI. Used by `psrec sim`,
// `psrec bench train` and the end-to-end tests.
//
// Failure: the first worker error cancels the others (their collectives are aborted and
// their loops see `cancel`), servers are stopped, and that first error is returned; later
// errors are consequences and are dropped.
//
// Servers bind 127.0.0.1 on ports the OS picks: cluster.bind_address, base_port and
// advertise_address are for `psrec train` and are ignored here (cli/job_warnings.h says so).
//
// Thread safety: one call at a time per options object; the pointers must outlive the call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "train/client_update.h"
#include "common/status.h"
#include "checkpoint/checkpoint_writer.h"
#include "train/run_report.h"
#include "wire/fault_spec.h"
#include "wire/transport.h"

namespace psrec::cli {

struct SimulationOptions {
  config::JobConfig job;                 // cluster.servers / cluster.workers give the shape
  train::RunReport* report = nullptr;   // written by worker 0; may be null
  bool progress = false;
  bool print_epochs = true;              // one line per epoch on stdout
  // Resume from this checkpoint (root/step-N, already validated); empty: fresh start.
  std::string resume_from;
  // Test seam: faults injected into one server's background checkpoint writer.
  int checkpoint_fault_server = -1;
  checkpoint::CheckpointFaults checkpoint_faults;
  // Graceful stop (cli/stop_signal.h): the workers stop after the epoch in which it is set,
  // with a checkpoint when checkpoint.dir is set. Null: never.
  const std::atomic<bool>* stop = nullptr;
  // Test seam: called by every worker after each batch (train::TrainerOptions::after_batch);
  // an error fails that worker, as a real failure would.
  std::function<Status(int worker, int64_t step)> after_batch;
  // Test seam (FEDERATED): sees each reporting client's plain update on worker `worker` as
  // its local training leaves it (train::UpdateModeContext::client_update_tap). Called from
  // the workers' threads, possibly at once.
  std::function<void(int worker, const train::ClientUpdate&)> client_update_tap;
  // Network faults injected into every worker's connections (wire/fault_transport.h;
  // `psrec sim --faults`), timed from the start of the workers; workers then stay on TCP.
  std::optional<wire::FaultSpec> network_faults;
  // PsClientOptions::reconnect_budget of every worker (0: a lost connection fails it).
  std::chrono::milliseconds reconnect_budget{0};
  // Test seam: the transport every worker's client dials through (wire::FrameTap to see
  // what workers send); null: the default.
  wire::Transport* worker_transport = nullptr;
  // Test seam (`psrec sim --inject-crash`, scripts/killtest.sh): one server or worker
  // crashes `after_ms` into the run, or when worker 0 (a server crash) or the crashing worker
  // finishes its batch `at_step` (>= 1; counted over the whole run, epochs included, so the
  // moment does not depend on the machine's speed), once per `fired` flag (share it between the runs of a
  // restarted job so that only the first is crashed). A crashed server stops at once: its
  // connections close under the workers' requests and its rows are lost with the run, as
  // when its process is killed; a crashed worker fails after its current batch.
  struct InjectedCrash {
    bool server = false;  // else a worker
    int index = 0;
    int after_ms = 0;
    int64_t at_step = 0;  // > 0: step-timed, and after_ms is ignored
    std::shared_ptr<std::atomic<bool>> fired = std::make_shared<std::atomic<bool>>(false);
  };
  std::optional<InjectedCrash> crash;
};

struct SimulationResult {
  std::vector<train::EpochMetrics> history;  // reduced over workers, one per epoch
  double wall_sec = 0;
  // Set when the job stopped gracefully (options.stop): the epochs done.
  std::optional<int> stopped_after_epoch;
  // With network_faults: the faults applied ("dup 12, partition 2").
  std::string faults_applied;
};

// REQUIRES: options.job passed ValidateJobConfig. Fails before starting anything when
// simulation.straggler_worker names no worker of the job.
Result<SimulationResult> RunSimulation(const SimulationOptions& options);

// OK when `index` is -1 (no straggler) or a worker of a `num_workers` job; otherwise an
// InvalidArgument naming `source` (the flag or config field it came from) and the range.
Status CheckStragglerWorker(int index, int num_workers, const std::string& source);

}  // namespace psrec::cli
