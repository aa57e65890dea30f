#include "train/checkpoint_policy.h"

#include "train/monotonic_seconds.h"

namespace psrec::train {

bool CheckpointPolicy::DueHere(int epochs_done, double now) const {
  const config::CheckpointConfig& config = job_->checkpoint();
  return epochs_done == job_->training().epochs() ||
         (config.every_epochs() > 0 && epochs_done % config.every_epochs() == 0) ||
         (config.every_seconds() > 0 && now - last_checkpoint_ >= config.every_seconds());
}

Result<bool> CheckpointPolicy::AgreeDue(int epochs_done, double now) {
  double due[1] = {DueHere(epochs_done, now) ? 1.0 : 0.0};
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(due, 1)));
  return due[0] != 0;
}

Result<std::optional<CheckpointPause>> CheckpointPolicy::MaybeTake(const CheckpointPoint& point,
                                                                   bool force) {
  if (checkpointer_ == nullptr) return std::optional<CheckpointPause>();
  const double start = MonotonicSeconds();
  bool due = force;
  if (!due) {
    ASSIGN_OR_RETURN(due, AgreeDue(point.epoch, start));
  }
  if (!due) return std::optional<CheckpointPause>();
  ASSIGN_OR_RETURN(double snapshot_sec, checkpointer_->Take(point));
  RETURN_IF_ERROR(collective_->Barrier());
  checkpointer_->StartWrites();
  double pause[2] = {MonotonicSeconds() - start, snapshot_sec};
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(pause, 2)));
  last_checkpoint_ = MonotonicSeconds();
  return std::optional<CheckpointPause>(CheckpointPause{pause[0], pause[1]});
}

Status CheckpointPolicy::Finish() {
  return checkpointer_ == nullptr ? Status::OK() : checkpointer_->Finish();
}

}  // namespace psrec::train
