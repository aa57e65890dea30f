// psrec sim: a whole job in one process. S parameter servers and W workers run as threads
// and talk over loopback TCP with the same code as `psrec train`; no MPI. Latency,
// bandwidth caps and stragglers can be injected to study how staleness affects convergence.
#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include "common/config.h"
#include "common/flags.h"
#include "cli/commands.h"
#include "cli/job_warnings.h"
#include "cli/run_setup.h"
#include "cli/simulation_restarts.h"
#include "cli/stop_signal.h"
#include "wire/fault_spec.h"

namespace psrec::cli {
namespace {

// "path=value" for --set, keeping every digit of a double (std::to_string keeps six).
std::string Assignment(const std::string& path, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return path + "=" + text;
}

// --inject-crash server:I:MS / worker:I:MS, or server:I:step=N / worker:I:step=N (a test
// hook: SimulationOptions::crash).
Result<SimulationOptions::InjectedCrash> ParseInjectedCrash(const std::string& text,
                                                           const config::ClusterConfig& cluster) {
  SimulationOptions::InjectedCrash crash;
  const size_t first = text.find(':');
  const size_t second = first == std::string::npos ? first : text.find(':', first + 1);
  const std::string role = text.substr(0, first);
  const Status usage = Status::InvalidArgument(
      "--inject-crash: expected server:I:MS, worker:I:MS, server:I:step=N or "
      "worker:I:step=N (N >= 1), got '" + text + "'");
  if (second == std::string::npos || (role != "server" && role != "worker")) return usage;
  crash.server = role == "server";
  try {
    size_t used = 0;
    crash.index = std::stoi(text.substr(first + 1, second - first - 1), &used);
    if (used != second - first - 1) return usage;
    std::string moment = text.substr(second + 1);
    const std::string step_prefix = "step=";
    if (moment.rfind(step_prefix, 0) == 0) {
      moment = moment.substr(step_prefix.size());
      crash.at_step = std::stoll(moment, &used);
      if (crash.at_step < 1) return usage;
    } else {
      crash.after_ms = std::stoi(moment, &used);
    }
    if (used != moment.size()) return usage;
  } catch (const std::exception&) {
    return usage;
  }
  const int count = crash.server ? cluster.servers() : cluster.workers();
  if (crash.index < 0 || crash.index >= count || crash.after_ms < 0) {
    return Status::InvalidArgument("--inject-crash: this job has " + std::to_string(count) +
                                   " " + role + "s (0.." + std::to_string(count - 1) +
                                   ") and the delay must be >= 0, got '" + text + "'");
  }
  return crash;
}

}  // namespace

int RunSimCommand(int argc, char** argv) {
  CommonJobFlags common;
  // Unset: the config's value. Ranges are the config's (common/proto/config.proto).
  std::optional<int> servers, workers, latency_us, straggler_worker;
  std::optional<double> bandwidth_mbps, straggler_factor;
  std::optional<int> max_restarts;  // unset: 0
  std::string faults;
  std::optional<int> reconnect_budget_ms;
  std::string inject_crash;
  FlagSet flags("psrec sim",
                "Run a whole job in one process: S server threads and W worker threads over\n"
                "loopback TCP, with optional injected latency, bandwidth cap and a straggler.\n"
                "Servers bind 127.0.0.1 on ports the OS picks (cluster.bind_address,\n"
                "base_port and advertise_address are for psrec train; a warning says so).\n"
                "With checkpoint.dir set, checkpoints are written every checkpoint.every_epochs\n"
                "/ every_seconds and at the end; --resume continues from the latest valid one.\n"
                "SIGTERM/SIGINT stops after the current epoch (with a checkpoint when\n"
                "checkpoint.dir is set) and exits 0; a second signal exits at once.\n"
                "--faults SPEC injects network faults into the workers' connections, e.g.\n"
                "  'dup:type=push,p=0.01; partition:worker=0,server=1,at_ms=200,for_ms=300'\n"
                "(kinds drop, delay, dup, reorder, truncate, corrupt, partition; frame=N or\n"
                "p=F picks frames; worker=, server=, type= filter; seed=N; docs/wire.md,\n"
                "\"Fault injection\"). Lost connections are then made again and requests\n"
                "resent (pushes applied once) for up to --reconnect-budget-ms; a fault that\n"
                "does not heal in time ends the job with an error naming the server.\n"
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
  flags.AddString("faults", &faults,
                  "network fault script (see above); empty: none");
  flags.AddOptionalInt("reconnect-budget-ms", &reconnect_budget_ms,
                       "how long a lost worker-server connection may take to come back, ms; "
                       "0: a lost connection fails the job [default: 5000 with --faults, "
                       "else 0]", 0, 3600000);
  flags.AddString("inject-crash", &inject_crash,
                  "test hook: crash server or worker I MS ms into the run, or after "
                  "batch N of worker 0 (server) or of that worker, once (server:I:MS, "
                  "worker:I:MS, server:I:step=N, worker:I:step=N; scripts/killtest.sh)");
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
  std::optional<wire::FaultSpec> fault_spec;
  if (s.ok() && !faults.empty()) {
    Result<wire::FaultSpec> parsed = wire::FaultSpec::Parse(faults);
    if (parsed.ok()) {
      fault_spec = std::move(parsed).value();
    } else {
      s = parsed.status().WithContext("--faults");
    }
  }
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
  if (!inject_crash.empty()) {
    Result<SimulationOptions::InjectedCrash> crash =
        ParseInjectedCrash(inject_crash, setup->job.cluster());
    if (!crash.ok()) {
      std::cerr << "psrec sim: " << crash.status().message() << "\n";
      return 2;
    }
    options.crash = *crash;
  }
  InstallStopSignalHandlers("psrec sim");
  options.stop = StopRequested();
  options.network_faults = fault_spec;
  options.reconnect_budget =
      std::chrono::milliseconds(reconnect_budget_ms.value_or(fault_spec ? 5000 : 0));
  Result<RestartedSimulation> result =
      RunSimulationWithRestarts(options, max_restarts.value_or(0), std::cerr);
  if (!result.ok()) {
    std::cerr << "psrec sim: " << result.status().message() << "\n";
    return 1;
  }
  if (fault_spec) {
    std::cerr << "psrec sim: network faults applied: " << result->result.faults_applied << "\n";
  }
  if (result->result.stopped_after_epoch) {
    std::cout << StoppedLine("psrec sim", setup->job, *result->result.stopped_after_epoch)
              << std::endl;
  }
  PrintRunFooter(*setup);
  return 0;
}

}  // namespace psrec::cli
