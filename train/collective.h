// Collective: reductions and barriers among the workers of one job (never the servers).
// Implementations: MpiCollective (cli/mpi_collective.h, a workers-only communicator) and
// ThreadCollective (train/thread_collective.h, W threads of one `psrec sim` process).
// Reductions are deterministic: every member gets bitwise the same result.
//
// Thread safety: each member (rank) is used by its own thread.
#pragma once

#include <span>

#include "common/status.h"

namespace psrec::train {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Element-wise sum (resp. max) over all members, in place.
  virtual Status AllReduceSum(std::span<double> values) = 0;
  virtual Status AllReduceMax(std::span<double> values) = 0;
  virtual Status Barrier() = 0;
};

}  // namespace psrec::train
