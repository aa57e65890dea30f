// psrec sim: a whole job in one process. S parameter servers and W workers run as threads
// and talk over loopback TCP with the same code as `psrec train`; no MPI. Latency,
// bandwidth caps and stragglers can be injected to study how staleness affects convergence.
#include <iostream>
#include <string>

#include "common/flags.h"
#include "cli/commands.h"
#include "cli/run_setup.h"
#include "cli/simulation.h"

namespace psrec::cli {

int RunSimCommand(int argc, char** argv) {
  CommonJobFlags common;
  int servers = -1, workers = -1;
  int latency_us = -1, straggler_worker = -2;
  double bandwidth_mbps = -1, straggler_factor = -1;
  FlagSet flags("psrec sim",
                "Run a whole job in one process: S server threads and W worker threads over\n"
                "loopback TCP, with optional injected latency, bandwidth cap and a straggler.\n"
                "With checkpoint.dir set, checkpoints are written every checkpoint.every_epochs\n"
                "/ every_seconds and at the end; --resume continues from the latest valid one.");
  common.Register(&flags);
  flags.AddInt("servers", &servers, "parameter servers [default: cluster.servers]");
  flags.AddInt("workers", &workers, "workers [default: cluster.workers]");
  flags.AddInt("latency-us", &latency_us, "added latency per message, microseconds "
               "[default: simulation.latency_us]");
  flags.AddDouble("bandwidth-mbps", &bandwidth_mbps,
                  "bandwidth cap per connection, Mbit/s, 0 = none [default: simulation.bandwidth_mbps]");
  flags.AddInt("straggler-worker", &straggler_worker,
               "index of a slow worker, -1 = none [default: simulation.straggler_worker]");
  flags.AddDouble("straggler-factor", &straggler_factor,
                  "compute slowdown of the straggler [default: simulation.straggler_factor]");
  Status s = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (s.ok()) {
    if (servers != -1) common.overrides.push_back("cluster.servers=" + std::to_string(servers));
    if (workers != -1) common.overrides.push_back("cluster.workers=" + std::to_string(workers));
    if (latency_us != -1) common.overrides.push_back("simulation.latency_us=" + std::to_string(latency_us));
    if (bandwidth_mbps != -1) common.overrides.push_back("simulation.bandwidth_mbps=" + std::to_string(bandwidth_mbps));
    if (straggler_worker != -2) common.overrides.push_back("simulation.straggler_worker=" + std::to_string(straggler_worker));
    if (straggler_factor != -1) common.overrides.push_back("simulation.straggler_factor=" + std::to_string(straggler_factor));
  }
  Result<RunSetup> setup = s.ok() ? PrepareRun(common, /*reporter=*/true) : Result<RunSetup>(s);
  if (!setup.ok()) {
    std::cerr << "psrec sim: " << setup.status().message() << "\n";
    return setup.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  SimulationOptions options;
  options.job = setup->job;
  options.report = setup->report.get();
  options.progress = setup->progress;
  options.resume_from = setup->resume_from;
  Result<SimulationResult> result = RunSimulation(options);
  if (!result.ok()) {
    std::cerr << "psrec sim: " << result.status().message() << "\n";
    return 1;
  }
  PrintRunFooter(*setup);
  return 0;
}

}  // namespace psrec::cli
