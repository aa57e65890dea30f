// MpiCollective: the worker Collective over an MPI communicator that holds only the
// workers (split from MPI_COMM_WORLD by role), so reductions never involve the servers.
//
// Thread safety: the owning worker thread only (MPI is initialized as MPI_THREAD_FUNNELED).
#pragma once

#include <mpi.h>

#include "train/collective.h"

namespace psrec::cli {

class MpiCollective : public train::Collective {
 public:
  // Takes ownership of `workers_comm` (freed in the destructor).
  explicit MpiCollective(MPI_Comm workers_comm);
  ~MpiCollective() override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  Status AllReduceSum(std::span<double> values) override;
  Status AllReduceMax(std::span<double> values) override;
  Status Barrier() override;

 private:
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace psrec::cli
