// `psrec launch [--max-restarts N] -- COMMAND...`: runs a job command (`mpirun ... psrec
// train ...`, or `psrec sim ...`) and, when it fails, runs it again from the newest valid
// checkpoint, up to N times. MPI cannot respawn a dead rank inside a running job, so a
// restart under mpirun is a whole new mpirun; the wrapper is the process that outlives it.
//
// The command must contain the psrec invocation (a word whose file name is `psrec`, followed
// by `train` or `sim`); its --config/--set/--out flags give the job's checkpoint.dir and
// output directory. A relaunch is the same command with the psrec part's --resume and
// --resume-from replaced by `--resume-from <newest valid checkpoint>` and with
// `--restart-count K` added (the report appends to metrics.jsonl and marks what it writes).
// Only checkpoints that this launch's runs wrote are resumed from: without one (a failure
// before the first checkpoint) the relaunch is the original command, as in `psrec sim
// --max-restarts`.
//
// Not relaunched: exit status 0, 2 (psrec's status for a config or flag mistake, which
// would recur), 126/127 (the command cannot run), and any exit after a stop signal.
//
// Signals: the job runs in its own process group with stdin from /dev/null (so that a
// terminal's Ctrl-C reaches only the wrapper, and a background mpirun never stops on a
// terminal read); each SIGINT/SIGTERM the wrapper gets is forwarded once to the job (mpirun
// passes it to every rank: the first stops the job gracefully, a second at once), and the
// wrapper then restarts nothing. If the wrapper itself dies, the job gets SIGTERM
// (PR_SET_PDEATHSIG), so no mpirun is left behind without it.
//
// Thread safety: RunWithRelaunches installs process-wide signal handlers; one call at a time.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"

namespace psrec::cli {

// Where the psrec part of a job command is, and what its flags say about the job.
struct JobCommand {
  size_t psrec_index = 0;  // command[psrec_index] is the psrec binary
  size_t args_begin = 0;   // its flags: [args_begin, args_end)
  size_t args_end = 0;
  std::string subcommand;  // "train" or "sim"
  std::string config_path;
  std::vector<std::string> overrides;  // --set, in order
  std::string out_dir;                 // --out, empty when not given
};

// InvalidArgument when the command has no `psrec train` / `psrec sim`.
Result<JobCommand> FindJobCommand(const std::vector<std::string>& command);

// The command with `flags` added to the psrec part (before a `:` of an MPMD mpirun line).
std::vector<std::string> WithJobFlags(const std::vector<std::string>& command,
                                      const JobCommand& job,
                                      const std::vector<std::string>& flags);

// The relaunch: --resume, --resume-from and --restart-count dropped from the psrec part,
// then `--resume-from checkpoint` (when not empty) and `--restart-count restarts` added.
std::vector<std::string> RelaunchCommand(const std::vector<std::string>& command,
                                         const JobCommand& job, const std::string& checkpoint,
                                         int restarts);

struct RelaunchOptions {
  std::vector<std::string> command;  // with the psrec part found by FindJobCommand
  JobCommand job;
  int max_restarts = 0;
  std::string checkpoint_dir;  // the job's checkpoint.dir; REQUIRED when max_restarts > 0
  std::ostream* log = nullptr;  // one line per restart; REQUIRED
};

struct RelaunchOutcome {
  int exit_code = 0;  // of the last run (128 + signal when it was killed)
  int restarts = 0;
  bool stopped_by_signal = false;  // a SIGINT/SIGTERM was forwarded: not restarted
};

// Runs the command until it succeeds, fails in a way not worth restarting, or has been
// restarted max_restarts times. An error only when the command cannot be started at all.
Result<RelaunchOutcome> RunWithRelaunches(const RelaunchOptions& options);

}  // namespace psrec::cli
