// RunSimulationWithRestarts: `psrec sim --max-restarts N`. A job that fails (a server or a
// worker error) is started again, up to `max_restarts` times, from the newest valid
// checkpoint in checkpoint.dir (checkpoint::LatestValidCheckpoint: a checkpoint the failed
// run left half written is skipped); with none there, from where the first run started
// (options.resume_from, or the beginning). Each restart prints one line on `log` (the error
// and the checkpoint used) and is counted in the run report (train::RunReport restarts).
//
// Not restarted: a graceful stop (options.stop set), and errors that would recur before
// training starts (InvalidArgument: a config or flag mistake).
//
// A restarted BSP job with one worker ends bitwise as an uninterrupted one (resume is exact
// there); otherwise within the noise of asynchronous training.
//
// Thread safety: as RunSimulation.
#pragma once

#include <ostream>

#include "cli/simulation.h"
#include "common/status.h"

namespace psrec::cli {

struct RestartedSimulation {
  SimulationResult result;  // of the last (successful) run
  int restarts = 0;
};

// REQUIRES: as RunSimulation; max_restarts >= 0.
Result<RestartedSimulation> RunSimulationWithRestarts(SimulationOptions options,
                                                      int max_restarts, std::ostream& log);

}  // namespace psrec::cli
