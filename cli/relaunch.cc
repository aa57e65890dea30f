#include "cli/relaunch.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>

#include "checkpoint/checkpoint_catalog.h"

namespace psrec::cli {
namespace {

// The value of `--name value` / `--name=value` at args[*i] (advancing *i past a separate
// value), or nullopt when args[*i] is not that flag.
std::optional<std::string> FlagValue(const std::vector<std::string>& args, size_t end,
                                     size_t* i, const std::string& name) {
  const std::string& word = args[*i];
  const std::string flag = "--" + name;
  if (word == flag) {
    if (*i + 1 >= end) return std::string();
    ++*i;
    return args[*i];
  }
  if (word.starts_with(flag + "=")) return word.substr(flag.size() + 1);
  return std::nullopt;
}

bool IsPsrecBinary(const std::string& word) {
  return std::filesystem::path(word).filename() == "psrec";
}

// Checkpoint names under `dir` (step-N), valid or not: those a launch finds at its start
// were not written by its runs.
std::set<std::string> CheckpointNames(const std::string& dir) {
  std::set<std::string> names;
  Result<std::vector<checkpoint::CheckpointListing>> listed = checkpoint::ListCheckpoints(dir);
  if (listed.ok()) {
    for (const auto& c : *listed) names.insert(c.name);
  }
  return names;
}

std::atomic<int> g_signals_received{0};
std::atomic<int> g_last_signal{0};

extern "C" void OnLaunchSignal(int sig) {
  g_last_signal.store(sig);
  g_signals_received.fetch_add(1);
}

void InstallForwardingHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnLaunchSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: waitpid returns EINTR so the signal is forwarded
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// fork + exec in a new process group with stdin from /dev/null.
Result<pid_t> Spawn(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const std::string& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Status::IoError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    // The job is in its own process group, out of reach of signals to the wrapper's group:
    // if the wrapper dies, the job is told to stop (mpirun forwards SIGTERM to every rank).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      close(null_fd);
    }
    execvp(argv[0], argv.data());
    const char* why = std::strerror(errno);
    (void)!write(STDERR_FILENO, "psrec launch: cannot run ", 25);
    (void)!write(STDERR_FILENO, argv[0], std::strlen(argv[0]));
    (void)!write(STDERR_FILENO, ": ", 2);
    (void)!write(STDERR_FILENO, why, std::strlen(why));
    (void)!write(STDERR_FILENO, "\n", 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also in the parent: no race with the first forwarded signal
  return pid;
}

// Waits for `pid`, forwarding each SIGINT/SIGTERM received meanwhile. Exit code or
// 128 + the signal that killed it.
int WaitForwarding(pid_t pid, int* forwarded) {
  int status = 0;
  while (true) {
    while (*forwarded < g_signals_received.load()) {
      kill(pid, g_last_signal.load());
      ++*forwarded;
    }
    pid_t got = waitpid(pid, &status, 0);
    if (got == pid) break;
    if (got < 0 && errno != EINTR) return 1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string DescribeExit(int code) {
  if (code > 128) return "killed by signal " + std::to_string(code - 128) + " (status " +
                         std::to_string(code) + ")";
  return "exit status " + std::to_string(code);
}

bool WorthRestarting(int code) { return code != 0 && code != 2 && code != 126 && code != 127; }

}  // namespace

Result<JobCommand> FindJobCommand(const std::vector<std::string>& command) {
  for (size_t i = 0; i + 1 < command.size(); ++i) {
    if (!IsPsrecBinary(command[i])) continue;
    if (command[i + 1] != "train" && command[i + 1] != "sim") continue;
    JobCommand job;
    job.psrec_index = i;
    job.subcommand = command[i + 1];
    job.args_begin = i + 2;
    job.args_end = job.args_begin;
    while (job.args_end < command.size() && command[job.args_end] != ":") ++job.args_end;
    for (size_t a = job.args_begin; a < job.args_end; ++a) {
      if (auto v = FlagValue(command, job.args_end, &a, "config")) {
        job.config_path = *v;
      } else if (auto v = FlagValue(command, job.args_end, &a, "set")) {
        job.overrides.push_back(*v);
      } else if (auto v = FlagValue(command, job.args_end, &a, "out")) {
        job.out_dir = *v;
      }
    }
    return job;
  }
  return Status::InvalidArgument(
      "the command runs no 'psrec train' or 'psrec sim' (e.g. psrec launch --max-restarts 3 "
      "-- mpirun -np 3 psrec train --config job.textproto)");
}

std::vector<std::string> WithJobFlags(const std::vector<std::string>& command,
                                      const JobCommand& job,
                                      const std::vector<std::string>& flags) {
  std::vector<std::string> out(command.begin(), command.begin() + job.args_end);
  out.insert(out.end(), flags.begin(), flags.end());
  out.insert(out.end(), command.begin() + job.args_end, command.end());
  return out;
}

std::vector<std::string> RelaunchCommand(const std::vector<std::string>& command,
                                         const JobCommand& job, const std::string& checkpoint,
                                         int restarts) {
  std::vector<std::string> out(command.begin(), command.begin() + job.args_begin);
  for (size_t a = job.args_begin; a < job.args_end; ++a) {
    if (command[a] == "--resume") continue;
    if (FlagValue(command, job.args_end, &a, "resume-from")) continue;
    if (FlagValue(command, job.args_end, &a, "restart-count")) continue;
    out.push_back(command[a]);
  }
  if (!checkpoint.empty()) {
    out.push_back("--resume-from");
    out.push_back(checkpoint);
  }
  out.push_back("--restart-count");
  out.push_back(std::to_string(restarts));
  out.insert(out.end(), command.begin() + job.args_end, command.end());
  return out;
}

Result<RelaunchOutcome> RunWithRelaunches(const RelaunchOptions& options) {
  const std::set<std::string> earlier =
      options.checkpoint_dir.empty() ? std::set<std::string>()
                                     : CheckpointNames(options.checkpoint_dir);
  InstallForwardingHandlers();
  int forwarded = 0;
  RelaunchOutcome out;
  std::vector<std::string> command = options.command;
  while (true) {
    ASSIGN_OR_RETURN(pid_t pid, Spawn(command));
    out.exit_code = WaitForwarding(pid, &forwarded);
    out.stopped_by_signal = forwarded > 0;
    if (!WorthRestarting(out.exit_code) || out.stopped_by_signal ||
        out.restarts >= options.max_restarts) {
      return out;
    }
    ++out.restarts;
    std::string from;
    Result<std::string> newest = checkpoint::LatestValidCheckpoint(options.checkpoint_dir);
    if (newest.ok() &&
        !earlier.contains(std::filesystem::path(*newest).filename().string())) {
      from = *newest;
    }
    *options.log << "psrec launch: restart " << out.restarts << " of " << options.max_restarts
                 << " after: " << DescribeExit(out.exit_code) << "; from "
                 << (from.empty() ? std::string("where the first run started (no checkpoint)")
                                  : from)
                 << std::endl;
    command = from.empty()
                  ? WithJobFlags(options.command, options.job,
                                 {"--restart-count", std::to_string(out.restarts)})
                  : RelaunchCommand(options.command, options.job, from, out.restarts);
  }
}

}  // namespace psrec::cli
