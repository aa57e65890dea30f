// DeltaPush: training.update_mode DELTAS. For each batch: pull the rows with their optimizer
// state, step them per rating on the worker (models::StepMfRatings, sequential SGD with the
// table's optimizer), and push each row's change (payload and state) for the owners to add.
// LOCAL users are stepped in place, found through the packed ratings' dense indices (with
// computed addresses when the rows are contiguous): no user keys are even planned. With
// rating_order BY_TILE and training.compute_threads > 1, the parts of a batch that belong
// to one round of tiles (no shared user or item row) are stepped by several threads.
//
// DELTAS must train on rows that hold all of the worker's own changes: rows missing them
// would yield changes made from the same old rows, adding the same steps twice (popular
// rows overshoot). GRADIENTS has no such double counting: a stale gradient is one step. So
// the next batch is planned ahead, and:
//   - pulled ahead (ASP, training.pull_ahead): batch b + 1 is pulled while b trains, and
//     b's changes are then added to the rows both hold (CarryChanges). On every connection
//     b + 1's pull went out before b's push, so this gives the rows the servers now hold, as
//     far as this worker's changes go: with one worker, bit for bit what pulling after the
//     push gives;
//   - otherwise (SSP/BSP, where a parked pull may be answered before or after a later
//     push): batch b + 1 is pulled after b's changes are pushed (on every connection the
//     push is then applied first), into b's buffers (one set of 10+ MB row buffers for
//     1M-rating batches, not two).
// pull_ahead AUTO pulls ahead only when some server is on another host (the client knows).
//
// A model's dense tables are pulled whole, with their optimizer state, beside each batch's
// rows; the model steps them (once per Model::Step call: once per batch, twice for a batch
// of LOCAL-user ratings that wraps around the packed array's end) and their changes are
// pushed and carried like the rows' (train/dense_tables.h).
//
// Thread safety: one thread. Contract of the calls: train/update_mode.h.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "train/compute_pool.h"
#include "train/local_user_rows.h"
#include "train/shared_row_changes.h"
#include "train/update_mode.h"

namespace psrec::train {

class DeltaPush : public UpdateMode {
 public:
  explicit DeltaPush(const UpdateModeContext& context);

  std::string Describe() const override;
  std::string DivergenceAdvice() const override { return ""; }
  void StartEpoch(const EpochStart& epoch) override;
  Status PrepareBatch(size_t b) override;
  Status TrainBatch(size_t b, TrainSums* sums) override;
  Status FinishBatch(size_t b) override;

 private:
  PulledBatch& SlotOf(size_t batch) { return ring_[batch % ring_.size()]; }
  void Plan(size_t batch);
  bool has_dense() const { return context_.dense != nullptr && !context_.dense->empty(); }
  Status SendPull(size_t batch);
  // Steps the batch's rows in place; adds the squared errors before each step.
  void Step(PulledBatch* slot, double* squared_error);
  // Adds `done`'s pushed changes to the rows `next` shares with it (pulled before them).
  Status CarryChanges(const PulledBatch& done, PulledBatch* next);
  // Scales the batch's item row changes for the other workers' changes to the same rows
  // (training.shared_row_changes); `base` holds the item rows as pulled.
  void ScaleSharedItemChanges(PulledBatch* slot, std::span<const float> base);

  const UpdateModeContext context_;
  const bool pull_ahead_;
  SharedRowScaler item_scaler_;
  std::vector<float> item_steps_;  // per item row of a batch: one example's step
  std::optional<LocalUserRows> local_users_;  // LOCAL users: stepped in place
  std::array<PulledBatch, 2> ring_;           // the batch being trained and the next one
  EpochStart epoch_;
  // For the batch being trained only (one at a time): rows as pulled (items, then REMOTE
  // users), from which the changes are made, and the kernel's scratch per compute thread.
  std::vector<float> base_rows_;
  std::vector<std::vector<float>> step_scratch_;
  // BY_TILE: REMOTE users' batches stepped part by part too (as LOCAL ones always are), so
  // results do not depend on compute_threads. training.compute_threads > 1: the pool that
  // steps a round's parts at once; each part's squared error and first rating.
  bool step_by_part_ = false;
  std::optional<ComputePool> pool_;
  std::vector<double> part_error_;
  std::vector<size_t> part_offset_;
  std::vector<uint32_t> carry_item_slot_, carry_user_slot_;  // CarryChanges' scratch
};

}  // namespace psrec::train
