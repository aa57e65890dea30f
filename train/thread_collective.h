// ThreadCollective: the Collective of W worker threads in one process (`psrec sim`).
// Create one ThreadCollectiveGroup, then one member per thread with Member(rank).
// Sums are taken in rank order so results do not depend on thread timing. Abort() wakes
// every waiting member with an Aborted status (a failed worker must not hang the others).
//
// Thread safety: the group is thread-safe; each member is used by one thread.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "train/collective.h"

namespace psrec::train {

class ThreadCollectiveGroup {
 public:
  explicit ThreadCollectiveGroup(int size);
  std::unique_ptr<Collective> Member(int rank);
  void Abort();

 private:
  friend class ThreadCollective;
  enum class Op { kSum, kMax };
  Status Reduce(int rank, std::span<double> values, Op op);

  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool aborted_ = false;                       // guarded by mu_
  uint64_t generation_ = 0;                    // guarded by mu_
  int arrived_ = 0;                            // guarded by mu_
  std::vector<std::vector<double>> inputs_;    // guarded by mu_; per rank
  std::vector<double> result_;                 // guarded by mu_
};

}  // namespace psrec::train
