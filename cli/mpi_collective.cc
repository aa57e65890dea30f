#include "cli/mpi_collective.h"

#include <string>

namespace psrec::cli {
namespace {

Status MpiStatus(int code, const char* what) {
  if (code == MPI_SUCCESS) return Status::OK();
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return Status::Unavailable(std::string(what) + " failed: " + std::string(text, length));
}

}  // namespace

MpiCollective::MpiCollective(MPI_Comm workers_comm) : comm_(workers_comm) {
  // Errors come back as codes, so a failed collective is a Status, not an abort.
  MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiCollective::~MpiCollective() { MPI_Comm_free(&comm_); }

Status MpiCollective::AllReduceSum(std::span<double> values) {
  return MpiStatus(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()),
                                 MPI_DOUBLE, MPI_SUM, comm_),
                   "MPI_Allreduce(sum)");
}

Status MpiCollective::AllReduceMax(std::span<double> values) {
  return MpiStatus(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()),
                                 MPI_DOUBLE, MPI_MAX, comm_),
                   "MPI_Allreduce(max)");
}

Status MpiCollective::Barrier() { return MpiStatus(MPI_Barrier(comm_), "MPI_Barrier"); }

}  // namespace psrec::cli
