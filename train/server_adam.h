// ServerAdam: FedAdam's server optimizer (Reddi et al. 2021, "Adaptive federated
// optimization") on a round's aggregate, for training.federated.server_optimizer SERVER_ADAM.
//
// Per coordinate, with d the round's aggregate (the mean delta, or the fixed-denominator
// sum; 0 for rows no client sent):
//   m = b1 m + (1 - b1) d;   v = b2 v + (1 - b2) d^2;   row += lr m / (sqrt(v) + epsilon)
// with no bias correction, as FedAdam. Adam is not linear in d, so unlike server momentum it
// cannot be applied to each worker's part: the workers reduce the whole aggregate and each
// steps the rows it owns (global row g with g mod workers == rank), keeping their state.
//
// Thread safety: not thread-safe (one per worker, called from the trainer's thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace psrec::train {

struct ServerAdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.99;
  double epsilon = 1e-3;
};

class ServerAdam {
 public:
  // REQUIRES: rows >= 0, dim >= 1, 0 <= rank < workers.
  ServerAdam(const ServerAdamOptions& options, size_t rows, int dim, int rank, int workers);

  // Steps every owned row by the aggregate (rows x dim values, the job's whole table) at
  // learning rate lr and appends each owned row whose step is not all zero to `rows_out`
  // (global row index) and its dim step values to `steps_out`.
  // REQUIRES: aggregate.size() == rows * dim.
  void Step(std::span<const double> aggregate, double lr, std::vector<uint32_t>* rows_out,
            std::vector<float>* steps_out);

 private:
  const ServerAdamOptions options_;
  const size_t rows_;
  const size_t dim_;
  const size_t rank_, workers_;
  std::vector<double> m_, v_;  // owned rows only, in order of their global index
};

}  // namespace psrec::train
