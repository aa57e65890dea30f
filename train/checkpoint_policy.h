// CheckpointPolicy: when a worker takes a checkpoint, and taking it (checkpoint.*).
//
// A checkpoint is due after an epoch when training ends with it, when checkpoint.every_epochs
// epochs are done (counted from the start of training, so a resumed run keeps its rhythm),
// or when checkpoint.every_seconds have passed since the start of this run or its last
// checkpoint. Workers' timers differ a little, so the decision is agreed: a worker that finds
// a checkpoint due decides for all (a collective max), and every worker takes its part at the
// same clock boundary.
//
// Taking it (MaybeTake), after the epoch's flush, barrier and evaluation (nothing is in
// flight, the tables are at one clock boundary): WorkerCheckpointer::Take, a barrier (nobody
// pushes again before every server and LOCAL owner has its copy), StartWrites (files are
// written in the background), and a reduction of the pause for the report.
//
// Thread safety: one thread (the trainer's). Every call that reduces is a collective call:
// every worker makes it, in the same order.
#pragma once

#include <optional>

#include "common/proto/config.pb.h"
#include "common/status.h"
#include "train/collective.h"
#include "train/worker_checkpointer.h"

namespace psrec::train {

// What a checkpoint cost training, the slowest worker's figures.
struct CheckpointPause {
  double pause_sec = 0;     // training paused: the copy, the barrier, starting the writes
  double snapshot_sec = 0;  // the slowest in-memory copy of the tables
};

class CheckpointPolicy {
 public:
  // `checkpointer` null: checkpoints are off (MaybeTake never takes one, and never reduces).
  // REQUIRES: every pointer outlives the policy.
  CheckpointPolicy(const config::JobConfig* job, WorkerCheckpointer* checkpointer,
                   Collective* collective)
      : job_(job), checkpointer_(checkpointer), collective_(collective) {}

  // The start of training (seconds, monotonic): every_seconds counts from here.
  void Start(double now) { last_checkpoint_ = now; }

  // This worker's view: whether a checkpoint is due once `epochs_done` epochs are done, at
  // `now` (monotonic seconds).
  bool DueHere(int epochs_done, double now) const;
  // The view agreed by all workers (true when any worker's DueHere is). Collective.
  Result<bool> AgreeDue(int epochs_done, double now);

  // After an epoch: takes a checkpoint at `point` when one is due, or always when `force`
  // (a graceful stop; every worker must pass the same `force`). Returns its pause, or
  // nullopt when none was taken. Collective when checkpoints are on.
  Result<std::optional<CheckpointPause>> MaybeTake(const CheckpointPoint& point,
                                                   bool force = false);

  bool enabled() const { return checkpointer_ != nullptr; }

  // Waits until every checkpoint is on disk (worker 0: and its MANIFEST written); before the
  // servers may go away.
  Status Finish();

 private:
  const config::JobConfig* job_;
  WorkerCheckpointer* checkpointer_;
  Collective* collective_;
  double last_checkpoint_ = 0;  // the start of training or the end of the last checkpoint
};

}  // namespace psrec::train
