#include "train/dense_block_optimizer.h"

#include <algorithm>
#include <vector>

#include <glog/logging.h>

namespace psrec::train {

DenseBlockOptimizer::DenseBlockOptimizer(const table::Optimizer* block_optimizer, int block)
    : block_optimizer_(block_optimizer), block_(block) {
  CHECK_GE(block, 1);
}

int DenseBlockOptimizer::state_floats(int floats) const {
  return blocks(floats) * block_optimizer_->state_floats(block_);
}

void DenseBlockOptimizer::InitState(const float* w, float* state, int floats) const {
  const int per_block = block_optimizer_->state_floats(block_);
  for (int b = 0; b < blocks(floats); ++b) {
    block_optimizer_->InitState(w + b * block_, state + b * per_block, block_);
  }
}

void DenseBlockOptimizer::UpdateRow(float* w, float* state, const float* g, int floats,
                                    float lr) const {
  const int per_block = block_optimizer_->state_floats(block_);
  const int full = floats / block_;
  for (int b = 0; b < full; ++b) {
    block_optimizer_->UpdateRow(w + b * block_, state + b * per_block, g + b * block_, block_, lr);
  }
  if (const int tail = floats - full * block_; tail > 0) {
    // The last block's padding gets a zero gradient, as the servers' rows do.
    std::vector<float> grad(static_cast<size_t>(block_), 0.0f);
    std::copy(g + full * block_, g + floats, grad.begin());
    block_optimizer_->UpdateRow(w + full * block_, state + full * per_block, grad.data(), block_,
                                lr);
  }
}

}  // namespace psrec::train
