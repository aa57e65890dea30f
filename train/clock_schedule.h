// ClockSchedule: which clock a batch belongs to. A clock is training.clock_every batches,
// and every epoch ends one (a BSP server applies a clock's pushes when every worker has
// finished it, and the epoch's evaluation and checkpoint need them applied). Clocks continue
// from the resume point's clock (0 for a fresh run), counting epochs and batches since its
// step: a job resumed with another number of workers has another number of batches per
// epoch, and the servers start every worker at that clock.
//
// Thread safety: immutable once made.
#pragma once

#include <cstdint>

namespace psrec::train {

class ClockSchedule {
 public:
  // REQUIRES: batches_per_epoch >= 1, clock_every >= 1.
  ClockSchedule(int64_t first_step, int64_t first_clock, int64_t batches_per_epoch,
                int64_t clock_every)
      : first_step_(first_step),
        first_clock_(first_clock),
        batches_per_epoch_(batches_per_epoch),
        clock_every_(clock_every) {}

  // The clock of the batch `global_batch` batches after the start of training (the clock
  // that follows the last batch when it is the first batch of an epoch not yet run).
  int ClockOfBatch(int64_t global_batch) const {
    const int64_t since = global_batch - first_step_;
    const int64_t clocks_per_epoch = (batches_per_epoch_ + clock_every_ - 1) / clock_every_;
    return static_cast<int>(first_clock_ + since / batches_per_epoch_ * clocks_per_epoch +
                            since % batches_per_epoch_ / clock_every_);
  }

  // Whether batch `batch` (0-based, within an epoch) is the last of its clock.
  bool EndsClock(int64_t batch) const {
    return (batch + 1) % clock_every_ == 0 || batch + 1 == batches_per_epoch_;
  }

  int64_t batches_per_epoch() const { return batches_per_epoch_; }

 private:
  int64_t first_step_;
  int64_t first_clock_;
  int64_t batches_per_epoch_;
  int64_t clock_every_;
};

}  // namespace psrec::train
