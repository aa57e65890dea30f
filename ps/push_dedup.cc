#include "ps/push_dedup.h"

#include <algorithm>
#include <string>


namespace psrec::ps {

void PushDedup::StartSession(int worker, uint64_t session) {
  Worker& w = workers_[static_cast<size_t>(worker)];
  if (w.session == session) return;  // a reconnect: keep the record
  w.session = session;
  w.highest = 0;
  w.seen.clear();
}

bool PushDedup::Test(const Worker& w, uint64_t s) {
  return (w.seen[(s % kWindow) / 64] >> (s % 64)) & 1;
}

void PushDedup::Set(Worker& w, uint64_t s, bool on) {
  uint64_t& word = w.seen[(s % kWindow) / 64];
  const uint64_t bit = uint64_t{1} << (s % 64);
  word = on ? (word | bit) : (word & ~bit);
}

Result<bool> PushDedup::Accept(int worker, uint64_t sequence) {
  if (sequence == 0) return true;
  Worker& w = workers_[static_cast<size_t>(worker)];
  if (w.seen.empty()) w.seen.assign(kWindow / 64, 0);
  if (sequence > w.highest) {
    // Clear the flags of the sequences the window slides past (each slot is reused for
    // sequence + kWindow).
    const uint64_t step = sequence - w.highest;
    if (step >= kWindow) {
      std::fill(w.seen.begin(), w.seen.end(), 0);
    } else {
      for (uint64_t s = w.highest + 1; s <= sequence; ++s) Set(w, s, false);
    }
    w.highest = sequence;
    Set(w, sequence, true);
    return true;
  }
  if (w.highest - sequence >= kWindow) {
    return Status::InvalidArgument(
        "push " + std::to_string(sequence) + " of worker " + std::to_string(worker) +
        " is older than the " + std::to_string(kWindow) +
        " pushes this server remembers: it cannot tell whether it was applied");
  }
  if (Test(w, sequence)) {
    ++duplicates_;
    return false;
  }
  Set(w, sequence, true);
  return true;
}

}  // namespace psrec::ps
