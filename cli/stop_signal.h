// Graceful stop on SIGTERM/SIGINT for `psrec sim` and `psrec train`.
//
// InstallStopSignalHandlers() makes the first SIGTERM or SIGINT set StopRequested() and do
// nothing else (the handler only stores to a lock-free atomic, which is async-signal-safe);
// the trainers see it at their next epoch boundary (train/trainer.h), take a checkpoint
// when checkpoint.dir is set and end the job with status 0. A second signal writes one line
// to stderr and exits at once with 128 + the signal (130 for SIGINT, 143 for SIGTERM).
//
// Under mpirun, mpirun forwards the signal to every rank; each rank sets its own flag and
// the workers agree (a max over their Collective), so all stop after the same epoch.
//
// Thread safety: install once, from the main thread, before starting workers; the flag may
// be read from any thread.
#pragma once

#include <atomic>
#include <string>

#include "common/proto/config.pb.h"

namespace psrec::cli {

// The process-wide stop flag (set by the first signal).
const std::atomic<bool>* StopRequested();

// `command` names the program in the second signal's message ("psrec sim").
// REQUIRES: `command` is a string literal (it is read from the handler).
void InstallStopSignalHandlers(const char* command);

// The line a gracefully stopped job ends with: the epochs done, the checkpoint taken (the
// newest valid one in checkpoint.dir) and how to finish the job (`--resume`), or that
// without checkpoint.dir it cannot be resumed.
std::string StoppedLine(const std::string& command, const config::JobConfig& job,
                        int epochs_done);

}  // namespace psrec::cli
