// psrec launch: runs a job command and relaunches it from the newest valid checkpoint when
// it fails (cli/relaunch.h; docs/training.md "Restarts").
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/flags.h"
#include "cli/commands.h"
#include "cli/relaunch.h"

namespace psrec::cli {

int RunLaunchCommand(int argc, char** argv) {
  std::optional<int> max_restarts;  // unset: 0
  std::vector<std::string> command;
  FlagSet flags("psrec launch",
                "Run a job and restart it from its newest valid checkpoint when it fails:\n"
                "  psrec launch --max-restarts 3 -- mpirun -np 3 psrec train --servers 1 \\\n"
                "      --config job.textproto --set checkpoint.dir=ckpt\n"
                "A failure is a non-zero exit of the command (a rank that died or was killed\n"
                "ends the whole mpirun). Each restart is a new run of the command with\n"
                "--resume-from <newest checkpoint this launch's runs wrote> and prints one\n"
                "line; metrics.jsonl and summary.json count the restarts. Exit status 2 (a\n"
                "config or flag mistake) and a stop by SIGINT/SIGTERM (forwarded once per\n"
                "signal to the job) are not restarted. Also wraps 'psrec sim'.");
  flags.AddOptionalInt("max-restarts", &max_restarts,
                       "relaunch a failed job up to N times [default: 0]", 0, 1000);
  flags.SetPositional("-- COMMAND...", &command, 1, 1u << 20);
  Status parsed = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  Result<JobCommand> job = parsed.ok() ? FindJobCommand(command) : Result<JobCommand>(parsed);
  Result<config::JobConfig> config =
      job.ok() ? LoadJobConfig(job->config_path, job->overrides)
               : Result<config::JobConfig>(job.status());
  const int restarts = max_restarts.value_or(0);
  if (config.ok() && restarts > 0 && config->checkpoint().dir().empty()) {
    config = Status::InvalidArgument(
        "--max-restarts needs checkpoint.dir (set it in the config or with --set "
        "checkpoint.dir=DIR): a restart continues from the newest checkpoint");
  }
  if (!config.ok()) {
    std::cerr << "psrec launch: " << config.status().message() << "\n";
    return 2;
  }
  RelaunchOptions options;
  options.command = command;
  options.job = *job;
  // Every run must report into the same directory: without --out or output.dir each run
  // would pick its own runs/<timestamp>.
  if (job->out_dir.empty() && config->output().dir().empty()) {
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    options.command = WithJobFlags(command, *job, {"--out", std::string("runs/") + stamp});
    options.job = *FindJobCommand(options.command);
  }
  options.max_restarts = restarts;
  options.checkpoint_dir = config->checkpoint().dir();
  options.log = &std::cerr;
  Result<RelaunchOutcome> outcome = RunWithRelaunches(options);
  if (!outcome.ok()) {
    std::cerr << "psrec launch: " << outcome.status().message() << "\n";
    return 1;
  }
  if (outcome->exit_code != 0 && !outcome->stopped_by_signal) {
    std::cerr << "psrec launch: the job failed (exit status " << outcome->exit_code << ") after "
              << outcome->restarts << " restart(s); giving up\n";
  }
  return outcome->exit_code;
}

}  // namespace psrec::cli
