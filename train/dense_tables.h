// DenseTables: a model's dense tables (models::KeyedBy::kDense: an MLP's weights) as one
// worker trains with them. A dense table lives on the servers as rows of TableSpec::dim
// floats ("blocks") with keys 0..blocks()-1, sharded like any key; every batch pulls all of
// them, so the model sees the whole flat vector (models::DenseView):
//   GRADIENTS  the batch's pull gives the vector; the model adds the batch's dense gradient
//              to DenseView::grads; PushGradients sends it block by block for the owners to
//              apply with the table's optimizer (any optimizer), like a sparse row's.
//   DELTAS     the pull carries every block's optimizer state (PullWithState); the model
//              steps the vector with DenseView::stepper (DenseBlockOptimizer: the table's
//              optimizer per block, as the servers would); PushChanges sends each block's
//              change of payload and state for the owners to add. With several workers the
//              servers add every worker's change made from the same pulled vector: the
//              vector moves by the sum of the workers' steps (like summed gradients with
//              SGD; with AdaGrad each worker's step used only its own squared gradients, so
//              the sum overshoots what one optimizer over all gradients would do).
// A batch's pull is one DenseBatch; the update modes keep one per batch in flight, beside
// the batch's sparse rows, so a dense pull is as stale as the sparse pulls beside it.
//
// Scoring (evaluation, before Model::Score): PullForScoring reads every block without
// creating any (a block never pushed to gets its initial value, computed here as the
// server would).
//
// Thread safety: one trainer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/status.h"
#include "models/model.h"
#include "train/dense_block_optimizer.h"
#include "train/table_access.h"

namespace psrec::train {

// One batch's copy of every dense table.
struct DenseBatch {
  struct Table {
    std::vector<float> rows;    // as pulled: blocks x (dim [+ state floats])
    std::vector<float> params;  // the flat vector, padded to whole blocks
    std::vector<float> state;   // DELTAS: the blocks' optimizer states, concatenated
    std::vector<float> grads;   // GRADIENTS: the batch's gradient (padded)
    TableAccess::Ticket ticket = 0;
  };
  std::vector<Table> tables;
  std::vector<models::DenseView> views;  // what the model gets (ExampleBatch::dense)
  bool with_state = false;
  bool ready = false;  // the pulls were waited for
};

class DenseTables {
 public:
  // `tables`: one access per kDense table of the model, in table order (their specs say
  // is_dense()); `seed` is training.seed (the blocks' initial values).
  // REQUIRES: every pointer outlives this object.
  DenseTables(std::vector<TableAccess*> tables, uint64_t seed);

  bool empty() const { return tables_.empty(); }
  size_t size() const { return tables_.size(); }
  const TableSpec& spec(size_t t) const { return tables_[t].access->spec(); }

  // The learning rates of an epoch (each table's optimizer.learning_rate * lr_decay^epoch).
  void StartEpoch(int epoch);

  // Pulls every block of every table into `batch` (with optimizer state when with_state).
  Status BeginPull(int clock, bool with_state, DenseBatch* batch);
  // Waits for `batch`'s pulls (once).
  Status Await(DenseBatch* batch);
  // Makes the views the model gets from the pulled rows (GRADIENTS: grads zeroed).
  // REQUIRES: Await(batch) succeeded.
  void MakeViews(DenseBatch* batch);
  // GRADIENTS: pushes the views' gradients.
  Status PushGradients(const DenseBatch& batch);
  // DELTAS: turns `batch` into its changes (stepped vector and state minus the pulled rows,
  // in its rows) and pushes them.
  Status PushChanges(DenseBatch* batch);
  // DELTAS, pulled ahead: adds `done`'s pushed changes to `next`'s rows (pulled before the
  // push; every block is shared). REQUIRES: next's pulls were waited for, its views not
  // used yet.
  static void CarryChanges(const DenseBatch& done, DenseBatch* next);

  // Every table's flat vector (dense_floats floats each), for Model::SetScoringDense.
  Result<std::vector<std::vector<float>>> PullForScoring(int clock);

 private:
  struct Dense {
    TableAccess* access;
    std::vector<uint64_t> keys;  // 0..blocks-1
    std::unique_ptr<DenseBlockOptimizer> optimizer;
    float learning_rate = 0;
  };
  static size_t RowFloats(const Dense& dense, bool with_state);

  std::vector<Dense> tables_;
  uint64_t seed_;
};

// The dense views of `batch` when there is one (null or empty: none).
inline std::span<const models::DenseView> DenseViewsOf(const DenseBatch* batch) {
  return batch == nullptr ? std::span<const models::DenseView>() : batch->views;
}

}  // namespace psrec::train
