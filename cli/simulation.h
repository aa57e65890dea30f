// RunSimulation: a whole job in one process. S parameter servers and W workers run as
// threads and talk over loopback TCP with exactly the code `psrec train` runs as MPI ranks;
// reductions go through a ThreadCollectiveGroup instead of MPI. Used by `psrec sim`,
// `psrec bench train` and the end-to-end tests.
//
// Failure: the first worker error cancels the others (their collectives are aborted and
// their loops see `cancel`), servers are stopped, and that first error is returned; later
// errors are consequences and are dropped.
//
// Thread safety: one call at a time per options object; the pointers must outlive the call.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "checkpoint/checkpoint_writer.h"
#include "train/run_report.h"

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
};

struct SimulationResult {
  std::vector<train::EpochMetrics> history;  // reduced over workers, one per epoch
  double wall_sec = 0;
};

Result<SimulationResult> RunSimulation(const SimulationOptions& options);

}  // namespace psrec::cli
