// ClockTracker: the consistency model of one server (docs/training.md, "Consistency").
//
// Every worker has a clock, 0 at the start, set by its ClockRequests; a finished worker no
// longer counts. slowest_clock() is the minimum over unfinished workers (kAllFinished when
// none is left). A pull at clock c may be answered when
//   ASP:     always;
//   SSP(s):  slowest_clock() >= c - s;
//   BSP:     slowest_clock() >= c        (SSP with s = 0).
// A pull that may not be answered yet is parked under a ticket; TakeAnswerable hands back
// the tickets of parked pulls that became answerable, lowest threshold first and in parking
// order among equals. The tracker knows nothing about sockets or tables: the server maps
// tickets to the pulls it holds.
//
// Clocks never go back: a ClockRequest below the worker's clock is ignored (a reconnecting
// worker may repeat one). A worker that disconnects without finishing keeps holding the
// others back; its failure is detected by the workers' rpc deadlines, not here.
//
// Thread safety: none; owned by the server's io thread.
#pragma once

#include <cstdint>
#include <limits>
#include <queue>
#include <vector>

#include "common/proto/config.pb.h"

namespace psrec::ps {

class ClockTracker {
 public:
  static constexpr int64_t kAllFinished = std::numeric_limits<int64_t>::max();

  // Every worker starts at start_clock (a resumed job continues from its checkpoint's clock).
  // REQUIRES: num_workers >= 1, staleness >= 0.
  ClockTracker(config::Consistency consistency, int staleness, int num_workers,
               int32_t start_clock = 0);

  int num_workers() const { return static_cast<int>(clocks_.size()); }
  config::Consistency consistency() const { return consistency_; }

  // Both return true when slowest_clock() advanced (parked pulls may have become answerable).
  // REQUIRES: 0 <= worker < num_workers().
  bool SetClock(int worker, int32_t clock);
  bool Finish(int worker);

  int32_t clock(int worker) const { return clocks_[worker]; }
  bool finished(int worker) const { return finished_[worker]; }
  int64_t slowest_clock() const { return slowest_; }
  int num_unfinished() const { return unfinished_; }

  bool CanAnswer(int32_t pull_clock) const { return slowest_ >= Threshold(pull_clock); }

  // Parks a pull at pull_clock and returns its ticket. REQUIRES: !CanAnswer(pull_clock).
  uint64_t Park(int32_t pull_clock);
  // Appends to *tickets (and forgets) every parked pull that may now be answered.
  void TakeAnswerable(std::vector<uint64_t>* tickets);
  size_t num_parked() const { return parked_.size(); }

 private:
  // The slowest clock at which a pull at pull_clock may be answered.
  int64_t Threshold(int32_t pull_clock) const;
  void Recompute();

  struct Parked {
    int64_t threshold;
    uint64_t ticket;
    bool operator>(const Parked& o) const {
      return threshold != o.threshold ? threshold > o.threshold : ticket > o.ticket;
    }
  };

  config::Consistency consistency_;
  int staleness_;
  std::vector<int32_t> clocks_;
  std::vector<bool> finished_;
  int unfinished_;
  int64_t slowest_ = 0;
  uint64_t next_ticket_ = 1;
  std::priority_queue<Parked, std::vector<Parked>, std::greater<Parked>> parked_;
};

}  // namespace psrec::ps
