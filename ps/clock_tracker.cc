#include "ps/clock_tracker.h"

#include <algorithm>

#include <glog/logging.h>

namespace psrec::ps {

ClockTracker::ClockTracker(config::Consistency consistency, int staleness, int num_workers,
                           int32_t start_clock)
    : consistency_(consistency),
      staleness_(consistency == config::BSP ? 0 : staleness),
      clocks_(num_workers, start_clock),
      finished_(num_workers, false),
      unfinished_(num_workers),
      slowest_(start_clock) {
  CHECK_GE(num_workers, 1);
  CHECK_GE(staleness, 0);
}

int64_t ClockTracker::Threshold(int32_t pull_clock) const {
  if (consistency_ == config::ASP) return std::numeric_limits<int64_t>::min();
  // 64-bit so that clocks near INT32_MIN from a confused peer cannot overflow.
  return static_cast<int64_t>(pull_clock) - staleness_;
}

void ClockTracker::Recompute() {
  int64_t slowest = kAllFinished;
  for (size_t w = 0; w < clocks_.size(); ++w) {
    if (!finished_[w]) slowest = std::min<int64_t>(slowest, clocks_[w]);
  }
  slowest_ = slowest;
}

bool ClockTracker::SetClock(int worker, int32_t clock) {
  CHECK(worker >= 0 && worker < num_workers()) << worker;
  if (clock <= clocks_[worker]) return false;
  clocks_[worker] = clock;
  if (finished_[worker]) return false;
  const int64_t before = slowest_;
  Recompute();
  return slowest_ > before;
}

bool ClockTracker::Finish(int worker) {
  CHECK(worker >= 0 && worker < num_workers()) << worker;
  if (finished_[worker]) return false;
  finished_[worker] = true;
  --unfinished_;
  const int64_t before = slowest_;
  Recompute();
  return slowest_ > before;
}

uint64_t ClockTracker::Park(int32_t pull_clock) {
  CHECK(!CanAnswer(pull_clock)) << "parking an answerable pull at clock " << pull_clock;
  const uint64_t ticket = next_ticket_++;
  parked_.push(Parked{Threshold(pull_clock), ticket});
  return ticket;
}

void ClockTracker::TakeAnswerable(std::vector<uint64_t>* tickets) {
  while (!parked_.empty() && parked_.top().threshold <= slowest_) {
    tickets->push_back(parked_.top().ticket);
    parked_.pop();
  }
}

}  // namespace psrec::ps
