// psrec sim: a whole job in one process. S parameter servers and W workers run as threads
// and talk over loopback TCP with the same code as `psrec train`; no MPI. Latency,
// bandwidth caps and stragglers can be injected to study how staleness affects convergence.
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/flags.h"
#include "cli/commands.h"
#include "cli/job_warnings.h"
#include "cli/run_setup.h"
#include "cli/simulation_restarts.h"
#include "cli/stop_signal.h"

namespace psrec::cli {
namespace {

// "path=value" for --set, keeping every digit of a double (std::to_string keeps six).
std::string Assignment(const std::string& path, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return path + "=" + text;
}

}  // namespace

int RunSimCommand(int argc, char** argv) {
  CommonJobFlags common;
  // Unset: the config's value. Ranges are the config's (common/proto/config.proto).
  std::optional<int> servers, workers, latency_us, straggler_worker;
  std::optional<double> bandwidth_mbps, straggler_factor;
  std::optional<int> max_restarts;  // unset: 0
  FlagSet flags("psrec sim",
                "Run a whole job in one process: S server threads and W worker threads over\n"
                "loopback TCP, with optional injected latency, bandwidth cap and a straggler.\n"
                "Servers bind 127.0.0.1 on ports the OS picks (cluster.bind_address,\n"
                "base_port and advertise_address are for psrec train; a warning says so).\n"
                "With checkpoint.dir set, checkpoints are written every checkpoint.every_epochs\n"
                "/ every_seconds and at the end; --resume continues from the latest valid one.\n"
                "SIGTERM/SIGINT stops after the current epoch (with a checkpoint when\n"
                "checkpoint.dir is set) and exits 0; a second signal exits at once.\n"
                "With cluster.metrics_port=P, server i serves Prometheus metrics on\n"
                "http://127.0.0.1:(P+i)/metrics and worker w on P+servers+w\n"
                "(docs/observability.md). Charts of the run: psrec report DIR.");
  common.Register(&flags);
  flags.AddOptionalInt("servers", &servers, "parameter servers [default: cluster.servers]", 1,
                       4096);
  flags.AddOptionalInt("workers", &workers, "workers [default: cluster.workers]", 1, 4096);
  flags.AddOptionalInt("latency-us", &latency_us, "added latency per message, microseconds "
                       "[default: simulation.latency_us]", 0);
  flags.AddOptionalDouble("bandwidth-mbps", &bandwidth_mbps,
                          "bandwidth cap per connection, Mbit/s, 0 = none "
                          "[default: simulation.bandwidth_mbps]", 0);
  flags.AddOptionalInt("straggler-worker", &straggler_worker,
                       "index of a slow worker (0..W-1), -1 = none "
                       "[default: simulation.straggler_worker]", -1);
  flags.AddOptionalDouble("straggler-factor", &straggler_factor,
                          "compute slowdown of the straggler [default: "
                          "simulation.straggler_factor]", 1);
  flags.AddOptionalInt("max-restarts", &max_restarts,
                       "after a server or worker failure, restart from the newest valid "
                       "checkpoint (or the start) up to N times [default: 0]", 0, 1000);
  Status s = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  std::vector<std::string>& set = common.overrides;
  if (servers) set.push_back("cluster.servers=" + std::to_string(*servers));
  if (workers) set.push_back("cluster.workers=" + std::to_string(*workers));
  if (latency_us) set.push_back("simulation.latency_us=" + std::to_string(*latency_us));
  if (bandwidth_mbps) set.push_back(Assignment("simulation.bandwidth_mbps", *bandwidth_mbps));
  if (straggler_worker) {
    set.push_back("simulation.straggler_worker=" + std::to_string(*straggler_worker));
  }
  if (straggler_factor) set.push_back(Assignment("simulation.straggler_factor", *straggler_factor));
  if (s.ok()) {
    // Checked before PrepareRun creates the run directory. The flag's name when it was
    // given, else the config field's; a config that does not load is PrepareRun's to report.
    Result<config::JobConfig> job = LoadJobConfig(common.config_path, common.overrides);
    if (job.ok()) {
      const int num_workers = job->cluster().workers();
      s = straggler_worker
              ? CheckStragglerWorker(*straggler_worker, num_workers, "--straggler-worker")
              : CheckStragglerWorker(job->simulation().straggler_worker(), num_workers,
                                     "simulation.straggler_worker");
    }
  }
  Result<RunSetup> setup = s.ok() ? PrepareRun(common, /*reporter=*/true) : Result<RunSetup>(s);
  if (!setup.ok()) {
    std::cerr << "psrec sim: " << setup.status().message() << "\n";
    return setup.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  for (const std::string& warning : {SimIgnoredClusterWarning(setup->job.cluster()),
                                     NoTestSetWarning(setup->job.data())}) {
    if (!warning.empty()) std::cerr << "psrec sim: warning: " << warning << "\n";
  }
  SimulationOptions options;
  options.job = setup->job;
  options.report = setup->report.get();
  options.progress = setup->progress;
  options.print_epochs = !setup->quiet;
  options.resume_from = setup->resume_from;
  InstallStopSignalHandlers("psrec sim");
  options.stop = StopRequested();
  Result<RestartedSimulation> result =
      RunSimulationWithRestarts(options, max_restarts.value_or(0), std::cerr);
  if (!result.ok()) {
    std::cerr << "psrec sim: " << result.status().message() << "\n";
    return 1;
  }
  if (result->result.stopped_after_epoch) {
    std::cout << StoppedLine("psrec sim", setup->job, *result->result.stopped_after_epoch)
              << std::endl;
  }
  PrintRunFooter(*setup);
  return 0;
}

}  // namespace psrec::cli
