// Trainer: one worker's training of a model, epoch after epoch. The parts it drives:
//   BatchSource (train/batch_source.h)       packs the partition, orders and plans batches
//   UpdateMode (train/update_mode.h)          pulls, trains and pushes a batch, by
//                                             training.update_mode (GRADIENTS, DELTAS)
//   EpochReport (train/epoch_report.h)        reduces an epoch's figures, prints, writes files
//   CheckpointPolicy (train/checkpoint_policy.h)  takes checkpoints when due
//   Straggler (train/straggler.h)             slows the compute down (simulation)
// Each epoch: every batch goes through the update mode, the clock advances every
// training.clock_every batches and at the epoch's end; then pushes are flushed, every worker
// waits for the others (barrier), test RMSE/MAE and train RMSE on a sample are evaluated and
// reduced over workers (rating models; for a ranking evaluation, HR/NDCG or the
// full-ranking figures: train/ranking_evaluator.h), and a checkpoint is taken when due.
// Worker 0 reports. Implicit models (models::Examples kPairwise/kPointwise) first turn the
// data into positives over the job's item catalogue (train/implicit_setup.h, collective), and
// each batch's positives are expanded with sampled negatives (train/implicit_batches.h).
//
// Graceful stop: `stop` may be set from another thread or a signal handler (cli/stop_signal.h).
// At the end of each epoch the workers agree on it (a max over the Collective, so all stop
// after the same epoch); when any worker saw it, a checkpoint is taken (when checkpoint.dir
// is set) and Run() returns OK with stopped_after_epoch() set. A resumed run finishes the job
// as if it had never stopped.
//
// Thread safety: Run() on one thread. `cancel` may be set from another thread to stop early
// (an error); `stop` to stop gracefully.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "client/ps_client.h"
#include "common/proto/config.pb.h"
#include "common/status.h"
#include "data/dataset.h"
#include "models/model.h"
#include "train/batch_source.h"
#include "train/checkpoint_policy.h"
#include "train/clock_schedule.h"
#include "train/collective.h"
#include "train/dense_tables.h"
#include "train/epoch_report.h"
#include "train/ranking_evaluator.h"
#include "train/ranking_setup.h"
#include "train/run_report.h"
#include "train/straggler.h"
#include "train/table_access.h"
#include "train/update_mode.h"
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
  // Graceful stop request; every worker of a job must have one or none (it is reduced).
  const std::atomic<bool>* stop = nullptr;
  // Test seam: called on the trainer's thread after each batch with the step (batches per
  // worker done since the start of training); an error fails the worker as a real one would.
  std::function<Status(int64_t step)> after_batch;
  // Test seam (FEDERATED): sees each reporting client's plain update as its local training
  // leaves it, before any privacy transform (UpdateModeContext::client_update_tap).
  std::function<void(const ClientUpdate&)> client_update_tap;
  // Resume point (a checkpoint's manifest): the next epoch (0-based), the step (batches per
  // worker done) and clock to continue from, and the model scalars its rows were trained with.
  int first_epoch = 0;
  int64_t first_step = 0;
  int64_t first_clock = 0;
  std::optional<models::ModelScalars> model_scalars;
  // Takes checkpoints at the boundaries checkpoint.* asks for; null: none.
  WorkerCheckpointer* checkpointer = nullptr;
  // The model's dense tables (train/dense_tables.h); null when it has none. Each evaluation
  // pulls them and hands them to Model::SetScoringDense first.
  DenseTables* dense = nullptr;
};

class Trainer {
 public:
  // REQUIRES: every pointer outlives the trainer; `client` may be null only when no table
  // is remote. `users` and `items` hold the rows of the model's two fields (the user's row,
  // the item's row). Run() fits the model, packs data->train and then keeps only its
  // dictionaries (BatchSource).
  Trainer(const TrainerOptions& options, models::Model* model, data::WorkerData* data,
          TableAccess* users, TableAccess* items, client::PsClient* client,
          Collective* collective);

  Status Run();
  const std::vector<EpochMetrics>& history() const { return history_; }
  // After a graceful stop: the epochs done (1-based, the last one trained); else nullopt.
  std::optional<int> stopped_after_epoch() const { return stopped_after_epoch_; }

 private:
  // Fits the model's scalars on every worker's training data (collective), or restores the
  // resume point's.
  Status FitModel();
  Status TrainEpoch(int epoch, EpochMetrics* metrics);
  Status EvaluateEpoch(EpochMetrics* metrics);
  // Models with dense tables: pulls them for Model::Score.
  Status SetScoringDense();
  // Builds the ranking task when evaluation.protocol (or the model) asks for ranking.
  // Collective; before BatchSource packs data_->train.
  Status PrepareRanking();
  Status EvaluateRanking(EpochMetrics* metrics);
  Status MaybeCheckpoint(int epoch, EpochMetrics* metrics, bool force);
  // Whether any worker was asked to stop (collective when options_.stop is set).
  Result<bool> AgreeStop();

  TrainerOptions options_;
  const config::JobConfig& job_;
  models::Model* model_;
  data::WorkerData* data_;
  TableAccess* users_;
  TableAccess* items_;
  client::PsClient* client_;
  Collective* collective_;

  // Made in Run(), once the model is fitted and the workers agreed on batches per epoch.
  std::unique_ptr<BatchSource> batches_;
  std::optional<ClockSchedule> clocks_;
  std::unique_ptr<UpdateMode> mode_;
  EpochReport report_;
  CheckpointPolicy checkpoints_;
  Straggler straggler_;
  int64_t global_batch_ = 0;      // batches done since the start of training
  size_t train_sample_size_ = 0;  // the first ratings of batches_->sample() are the sample
  std::vector<EpochMetrics> history_;
  std::optional<RankingTask> ranking_task_;  // set when the evaluation ranks
  std::unique_ptr<RankingEvaluator> ranking_;
  std::optional<int> stopped_after_epoch_;
};

}  // namespace psrec::train
