#include "train/server_adam.h"

#include <glog/logging.h>

#include <cmath>

namespace psrec::train {

ServerAdam::ServerAdam(const ServerAdamOptions& options, size_t rows, int dim, int rank,
                       int workers)
    : options_(options),
      rows_(rows),
      dim_(static_cast<size_t>(dim)),
      rank_(static_cast<size_t>(rank)),
      workers_(static_cast<size_t>(workers)) {
  CHECK_GE(dim, 1);
  CHECK(rank >= 0 && rank < workers) << rank << " of " << workers;
  const size_t owned = rows_ > rank_ ? (rows_ - rank_ + workers_ - 1) / workers_ : 0;
  m_.assign(owned * dim_, 0);
  v_.assign(owned * dim_, 0);
}

void ServerAdam::Step(std::span<const double> aggregate, double lr,
                      std::vector<uint32_t>* rows_out, std::vector<float>* steps_out) {
  CHECK_EQ(aggregate.size(), rows_ * dim_);
  const double b1 = options_.beta1, b2 = options_.beta2;
  size_t slot = 0;
  for (size_t g = rank_; g < rows_; g += workers_, ++slot) {
    double* m = &m_[slot * dim_];
    double* v = &v_[slot * dim_];
    const double* d = &aggregate[g * dim_];
    bool moves = false;
    for (size_t k = 0; k < dim_; ++k) {
      m[k] = b1 * m[k] + (1 - b1) * d[k];
      v[k] = b2 * v[k] + (1 - b2) * d[k] * d[k];
      moves = moves || m[k] != 0;
    }
    if (!moves) continue;  // never sent, or decayed to exactly 0
    rows_out->push_back(static_cast<uint32_t>(g));
    for (size_t k = 0; k < dim_; ++k) {
      steps_out->push_back(static_cast<float>(lr * m[k] / (std::sqrt(v[k]) + options_.epsilon)));
    }
  }
}

}  // namespace psrec::train
