// Trainer: one worker's training loop for biased MF.
//
// The worker's partition is packed once (shuffled, or grouped by user: training.rating_order)
// and cut into the same number of batches as every other worker's (so clocks advance in
// step); each epoch visits the batches in a new order. For each batch: plan unique keys,
// pull user and item rows, then (training.update_mode)
//   GRADIENTS: accumulate gradients and push them. Pulls for up to training.pipeline_depth
//     batches are in flight ahead of compute, so compute hides network time (an async pull
//     may then miss the pushes of the batches just before it; BSP/SSP bound that);
//   DELTAS: pull rows with optimizer state, step them per rating, push their changes. The
//     next batch is planned ahead; under ASP (training.pull_ahead) it is also pulled ahead and
//     then given this batch's changes, otherwise pulled after this batch's push (trainer.cc
//     says why).
// After each epoch: flush pushes, barrier, evaluate test RMSE/MAE and train RMSE on a
// sample, reduce over workers; worker 0 reports.
//
// Thread safety: Run() on one thread. `cancel` may be set from another thread to stop early.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "data/dataset.h"
#include "common/proto/config.pb.h"
#include "common/status.h"
#include "train/batch_plan.h"
#include "train/collective.h"
#include "models/model.h"
#include "client/ps_client.h"
#include "train/run_report.h"
#include "train/table_access.h"
#include "train/worker_checkpointer.h"

namespace psrec::train {

struct TrainerOptions {
  const config::JobConfig* job = nullptr;
  int num_servers = 1;
  bool progress = false;         // progress line on stderr (worker 0)
  bool print_epochs = true;      // one line per epoch on stdout (worker 0)
  RunReport* report = nullptr;   // worker 0 only; may be null
  double compute_slowdown = 1;   // >1 makes this worker a straggler (simulation)
  const std::atomic<bool>* cancel = nullptr;
  // Resume point (a checkpoint's manifest): the next epoch (0-based), the step (batches per
  // worker done) and clock to continue from, and the model scalars its rows were trained with.
  int first_epoch = 0;
  int64_t first_step = 0;
  int64_t first_clock = 0;
  std::optional<models::ModelScalars> model_scalars;
  // Takes checkpoints at the boundaries checkpoint.* asks for; null: none.
  WorkerCheckpointer* checkpointer = nullptr;
};

class Trainer {
 public:
  // REQUIRES: every pointer outlives the trainer; `client` may be null only when no table
  // is remote (never the case for MF, whose item table always is).
  Trainer(const TrainerOptions& options, models::Model* model, data::WorkerData* data,
          TableAccess* users, TableAccess* items, client::PsClient* client,
          Collective* collective);

  Status Run();
  const std::vector<EpochMetrics>& history() const { return history_; }

 private:
  struct InFlight {
    BatchPlan plan;
    // Pulled rows (with optimizer state under update_mode DELTAS) and the gradients
    // pushed under GRADIENTS.
    std::vector<float> user_rows, item_rows, user_grads, item_grads;
    std::vector<float*> user_row_addresses;  // LOCAL users: rows in the table
    TableAccess::Ticket user_ticket = 0, item_ticket = 0;
    bool rows_ready = false;  // its pulls have been waited for
  };
  Status FitModel();
  Status TrainEpoch(int epoch, EpochMetrics* metrics);
  void PackTrainingData();
  // LOCAL users: (re)fills direct_users_ / direct_first_row_ when the table grew or moved.
  void ResolveDirectUsers();
  // train/trainer_batch.cc: the keys of this epoch's batch `batch`, then its pull.
  void PlanBatch(size_t batch, InFlight* slot);
  Status SendPull(size_t batch, InFlight* slot);
  // train/trainer_batch.cc: one batch's compute and push, by update_mode.
  Status ComputeAndPush(InFlight* slot, float user_lr, float item_lr, double* sse);
  Status AwaitRows(InFlight* slot);
  // DELTAS pulled ahead (ASP): adds `done`'s pushed changes to the rows `next` shares with
  // it, which were pulled before them.
  Status CarryChanges(const InFlight& done, InFlight* next);
  Status AccumulateAndPushGradients(InFlight* slot, float user_lr, float item_lr, double* sse);
  Status StepAndPushDeltas(InFlight* slot, float user_lr, float item_lr, double* sse);
  Status EvaluateEpoch(EpochMetrics* metrics);
  // After an epoch's evaluation: takes a checkpoint when one is due (agreed by all workers).
  Status MaybeCheckpoint(int epoch, EpochMetrics* metrics);
  int ClockOfBatch(int64_t global_batch) const;

  TrainerOptions options_;
  const config::JobConfig& job_;
  models::Model* model_;
  data::WorkerData* data_;  // the train shard keeps only its dictionaries once packed
  TableAccess* users_;
  TableAccess* items_;
  client::PsClient* client_;
  Collective* collective_;

  int user_dim_ = 0, item_dim_ = 0;  // payload floats of the model's user and item rows
  const bool deltas_;  // training.update_mode DELTAS
  // DELTAS under ASP: the next batch is pulled while this one trains, and this batch's
  // changes are added to the rows both hold (CarryChanges). Under SSP/BSP a parked pull may
  // be answered before or after the push, so there it is pulled after the push. Decided in
  // Run() (training.pull_ahead AUTO asks the client where the servers are).
  bool pull_ahead_ = false;
  std::vector<uint32_t> carry_item_slot_, carry_user_slot_;  // CarryChanges' scratch
  // DELTAS, for the batch being computed only (one at a time, so not per ring slot): rows
  // as pulled (items, then REMOTE users).
  std::vector<float> base_rows_, step_scratch_;
  int64_t batches_per_epoch_ = 0;
  int64_t global_batch_ = 0;      // batches done since the start of training
  // The partition's ratings, shuffled once (seeded by seed and worker). Each epoch visits its
  // batches in a new random order, with batch boundaries shifted by a random offset, so batch
  // contents change between epochs while every batch is a sequential read.
  std::vector<data::PackedRating> packed_;
  // LOCAL users are trained in place: no pull copies, no push, no key lookups per batch.
  // direct_users_[dense user index] is the row's address, resolved at each epoch start (only
  // evaluation and restores create rows, and neither runs inside an epoch).
  table::EmbeddingTable* direct_table_ = nullptr;
  std::vector<float*> direct_users_;
  bool direct_contiguous_ = false;  // row of dense user d at direct_first_row_ + d * row_floats
  float* direct_first_row_ = nullptr;
  size_t resolved_rows_ = 0;            // table size and arena when direct_users_ was made
  const float* resolved_arena_ = nullptr;
  std::vector<uint32_t> batch_order_;  // this epoch: batch b trains slice batch_order_[b]
  size_t batch_offset_ = 0;            // this epoch: where slice 0 starts in packed_
  size_t train_sample_size_ = 0;  // packed_[0, n) is the train-RMSE sample
  BatchPlanner planner_;
  std::vector<InFlight> ring_;
  std::vector<EpochMetrics> history_;
  ProgressLine progress_;
  double last_checkpoint_ = 0;  // Now() of the start of training or of the last checkpoint
};

}  // namespace psrec::train
