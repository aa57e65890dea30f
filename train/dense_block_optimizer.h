// DenseBlockOptimizer: a table's optimizer over a dense table's whole flat vector, as the
// worker holds it for worker-side steps (training.update_mode DELTAS): the blocks' payloads
// concatenated (padded to whole blocks) and, apart, the blocks' optimizer states
// concatenated. UpdateRow(params, state, grad, floats, lr) steps every block with the
// table's optimizer exactly as the block's owner would step its row, whatever state the
// optimizer keeps per row (a step count, moments), so a model steps its dense weights with
// one call (models::DenseView::stepper) and the servers add the changes.
//
// Thread safety: immutable; UpdateRow may run on several threads for disjoint vectors.
#pragma once

#include <memory>

#include "table/optimizer.h"

namespace psrec::train {

class DenseBlockOptimizer final : public table::Optimizer {
 public:
  // `block`: the table's payload floats per row. REQUIRES: block >= 1.
  DenseBlockOptimizer(const table::Optimizer* block_optimizer, int block);

  // The blocks that hold `floats` floats, times the block optimizer's state per row.
  int state_floats(int floats) const override;
  // REQUIRES: w holds whole blocks (see UpdateRow).
  void InitState(const float* w, float* state, int floats) const override;
  // REQUIRES: w holds whole blocks (a multiple of `block` floats >= floats; the padding
  // past `floats` is stepped with a zero gradient, which leaves a zero weight at zero),
  // g holds floats floats, state holds state_floats(floats) floats.
  void UpdateRow(float* w, float* state, const float* g, int floats, float lr) const override;
  const char* name() const override { return block_optimizer_->name(); }
  config::OptimizerConfig::Kind kind() const override { return block_optimizer_->kind(); }

  int blocks(int floats) const { return (floats + block_ - 1) / block_; }

 private:
  const table::Optimizer* block_optimizer_;
  int block_;
};

}  // namespace psrec::train
