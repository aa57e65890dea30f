#include "cli/simulation_restarts.h"

#include <string>

#include "checkpoint/checkpoint_catalog.h"

namespace psrec::cli {
namespace {

bool WorthRestarting(const Status& failure, const SimulationOptions& options) {
  if (failure.code() == Status::Code::kInvalidArgument) return false;
  return options.stop == nullptr || !options.stop->load();
}

}  // namespace

Result<RestartedSimulation> RunSimulationWithRestarts(SimulationOptions options,
                                                      int max_restarts, std::ostream& log) {
  const std::string first_start = options.resume_from;
  const std::string& dir = options.job.checkpoint().dir();
  RestartedSimulation out;
  // Restarts before this process (`psrec launch` relaunching it) count too.
  const int earlier = options.report != nullptr ? options.report->restarts() : 0;
  while (true) {
    if (options.report != nullptr) options.report->set_restarts(earlier + out.restarts);
    Result<SimulationResult> run = RunSimulation(options);
    if (run.ok()) {
      out.result = std::move(run).value();
      return out;
    }
    if (out.restarts >= max_restarts || !WorthRestarting(run.status(), options)) {
      return run.status();
    }
    ++out.restarts;
    options.resume_from = first_start;
    if (!dir.empty()) {
      Result<std::string> newest = checkpoint::LatestValidCheckpoint(dir);
      if (newest.ok()) options.resume_from = *newest;
    }
    log << "psrec sim: restart " << out.restarts << " of " << max_restarts << " after: "
        << run.status().message() << "; from "
        << (options.resume_from.empty() ? std::string("the start (no checkpoint)")
                                        : options.resume_from)
        << std::endl;
  }
}

}  // namespace psrec::cli
