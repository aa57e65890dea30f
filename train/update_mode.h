// UpdateMode: how a worker turns one batch into updates of the tables (training.update_mode),
// behind one interface so the trainer's epoch loop never asks which mode it runs:
//   GRADIENTS (train/gradient_push.h): pull rows, accumulate the batch's gradients, push
//     them for the rows' owners to apply with the table's optimizer;
//   DELTAS (train/delta_push.h): pull rows with their optimizer state, step them per rating
//     on the worker, push each row's change for the owners to add.
// A new mode is one implementation plus a line in MakeUpdateMode.
//
// The trainer drives a mode like this, on its own thread:
//   StartEpoch(epoch)                      after BatchSource::StartEpoch
//   for b in [0, batches_per_epoch):
//     PrepareBatch(b)    plans and pulls batch b (and whatever the mode pulls ahead) and
//                        waits until batch b's rows are there
//     TrainBatch(b)      computes batch b and sends its updates: the worker's compute time,
//                        which the trainer measures (straggler simulation)
//     FinishBatch(b)     what must follow b's push before b + 1 trains
//   then PsClient::Flush and evaluation (no mode call is in progress between epochs).
// Kernels are called per batch, never through a virtual call per rating.
//
// Thread safety: one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "client/ps_client.h"
#include "common/proto/config.pb.h"
#include "common/status.h"
#include "models/model.h"
#include "train/batch_source.h"
#include "train/client_update.h"
#include "train/clock_schedule.h"
#include "train/collective.h"
#include "train/dense_tables.h"
#include "train/run_report.h"
#include "train/table_access.h"

namespace psrec::train {

// What a mode works with; every pointer outlives the mode.
struct UpdateModeContext {
  const config::JobConfig* job = nullptr;
  TableAccess* users = nullptr;         // users->local_table() when LOCAL: trained in place
  TableAccess* items = nullptr;
  client::PsClient* client = nullptr;   // null only when no table is remote
  BatchSource* batches = nullptr;
  const ClockSchedule* clocks = nullptr;
  // Its fields: the user's row, the item's, and for pairwise models the negative item's
  // (BatchPlan::neg_slot, from the same item rows).
  const models::Model* model = nullptr;
  // The partition's users by dense index (the dictionaries the batches are planned with).
  std::span<const uint64_t> user_ids;
  std::span<const uint64_t> item_ids;  // the partition's items by dense index
  Collective* collective = nullptr;    // the job's workers (FEDERATED reduces counts)
  int workers = 1;  // in the job: how many may change a shared (item) row in one clock
  // The model's dense tables (pulled whole with every batch, train/dense_tables.h); null or
  // empty when it has none.
  DenseTables* dense = nullptr;
  // Test seam (FEDERATED): called with each reporting client's plain update when its local
  // training ends, before any ClientUpdateTransform. Unset in production.
  std::function<void(const ClientUpdate&)> client_update_tap;
};

// The rates and position of one epoch.
struct EpochStart {
  float user_lr = 0;
  float item_lr = 0;
  int64_t first_global_batch = 0;  // batches done since the start of training
  int epoch = 0;                   // 0-based (dense tables' rate schedule)
};

// What an epoch's batches added up to on this worker.
struct TrainSums {
  double squared_error = 0;  // per rating, before its update
  size_t ratings = 0;
};

class UpdateMode {
 public:
  virtual ~UpdateMode() = default;

  // Appended to the run's first line, e.g. ", DELTAS (next batch pulled ahead)".
  virtual std::string Describe() const = 0;
  // Appended to the error when training diverges: what to change besides the rates.
  virtual std::string DivergenceAdvice() const = 0;

  virtual void StartEpoch(const EpochStart& epoch) = 0;
  // REQUIRES: batches 0..b-1 of the epoch went through FinishBatch.
  virtual Status PrepareBatch(size_t b) = 0;
  // REQUIRES: PrepareBatch(b) succeeded.
  virtual Status TrainBatch(size_t b, TrainSums* sums) = 0;
  // REQUIRES: TrainBatch(b) succeeded.
  virtual Status FinishBatch(size_t b) = 0;
  // After the epoch's training figures are reduced: the mode's own figures, reduced over
  // workers into metrics->mode_figures. Collective: every worker calls it.
  virtual Status EndEpoch(EpochMetrics* /*metrics*/) { return Status::OK(); }
};

// The mode training.update_mode names.
std::unique_ptr<UpdateMode> MakeUpdateMode(const UpdateModeContext& context);

// A batch whose rows are being pulled or trained: the unit of a mode's ring of batches.
struct PulledBatch {
  BatchPlan plan;
  std::vector<float> user_rows, item_rows;  // not filled for users trained in place
  DenseBatch dense;                         // the dense tables' vectors (models with them)
  TableAccess::Ticket user_ticket = 0, item_ticket = 0;
  bool rows_ready = false;  // its pulls have been waited for
};

// Waits for `batch`'s pulls (once); `users` is null when its users are trained in place.
Status AwaitRows(TableAccess* users, TableAccess* items, PulledBatch* batch);

}  // namespace psrec::train
