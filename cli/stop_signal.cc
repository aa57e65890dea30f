#include "cli/stop_signal.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "checkpoint/checkpoint_catalog.h"

namespace psrec::cli {
namespace {

// Lock-free, so storing it is async-signal-safe (C++17 [support.signal]).
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);
const char* g_command = "psrec";

void WriteAll(const char* text) {
  size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t n = write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<size_t>(n);
  }
}

extern "C" void OnStopSignal(int signo) {
  if (!g_stop.exchange(true)) return;  // the first signal: the trainers stop at an epoch's end
  // The second: only async-signal-safe calls (strlen, write, _exit).
  WriteAll(g_command);
  WriteAll(": second signal, exiting now without a checkpoint\n");
  _exit(128 + signo);
}

}  // namespace

const std::atomic<bool>* StopRequested() { return &g_stop; }

void InstallStopSignalHandlers(const char* command) {
  g_command = command;
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and waits carry on after the first signal
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

std::string StoppedLine(const std::string& command, const config::JobConfig& job,
                        int epochs_done) {
  std::string line = command + ": stopped after epoch " + std::to_string(epochs_done) +
                     " of " + std::to_string(job.training().epochs());
  if (job.checkpoint().dir().empty()) {
    return line + "; no checkpoint (checkpoint.dir is not set), so it cannot be resumed";
  }
  Result<std::string> newest = checkpoint::LatestValidCheckpoint(job.checkpoint().dir());
  if (!newest.ok()) return line + "; no valid checkpoint: " + newest.status().message();
  return line + "; checkpoint " + *newest + "; to finish the job, run the same command with " +
         "--resume";
}

}  // namespace psrec::cli
