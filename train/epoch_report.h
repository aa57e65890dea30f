// EpochReport: an epoch's figures, reduced over all workers, and what worker 0 shows of them:
// the run's first line ("training biased MF: ..."), the progress line on stderr while an
// epoch trains, one line per epoch and per checkpoint on stdout, and the run's files
// (RunReport: metrics.jsonl, summary.json).
//
// The Reduce* calls are collective (every worker makes them, in the same order) and fill
// EpochMetrics on every worker; the rest prints or writes on worker 0 only and does nothing
// elsewhere.
//
// Thread safety: one thread (the trainer's).
#pragma once

#include <cstdint>
#include <string>

#include "client/ps_client.h"
#include "common/proto/config.pb.h"
#include "common/status.h"
#include "models/model.h"
#include "train/checkpoint_policy.h"
#include "train/collective.h"
#include "train/evaluator.h"
#include "train/run_report.h"
#include "train/update_mode.h"

namespace psrec::train {

struct EpochReportOptions {
  const config::JobConfig* job = nullptr;
  int num_servers = 1;
  bool progress = false;        // progress line on stderr
  bool print_epochs = true;     // the lines on stdout
  RunReport* report = nullptr;  // may be null
};

class EpochReport {
 public:
  // `client` may be null (no table is remote: no network figures). REQUIRES: every pointer
  // outlives the report.
  EpochReport(const EpochReportOptions& options, Collective* collective,
              client::PsClient* client);

  // The run's first line: servers, workers, the global mean, batches per epoch, and the
  // update mode's note (UpdateMode::Describe).
  // "training <model>: S servers, W workers, <scalars>, B batches/epoch<mode_note>".
  void PrintStart(const models::Model& model, int64_t batches_per_epoch,
                  const std::string& mode_note);
  // While epoch `epoch` (0-based) trains: `batches_done` of `batches` in `elapsed_sec`.
  void Progress(int epoch, size_t batches_done, int64_t batches, const TrainSums& sums,
                double elapsed_sec);

  // The epoch's training figures over all workers: train loss, ratings, the slowest worker's
  // time and the rate; `epoch` is 0-based. Collective.
  Status ReduceTraining(int epoch, const TrainSums& sums, double train_sec, float item_lr,
                        EpochMetrics* metrics);
  // Test RMSE/MAE and train RMSE from every worker's error sums, and the client's traffic,
  // pull wait and staleness. Collective.
  Status ReduceEvaluation(const ErrorSums& test, const ErrorSums& train, EpochMetrics* metrics);

  // A checkpoint was taken at step `step`.
  void PrintCheckpoint(int64_t step, const CheckpointPause& pause);
  // The epoch's line and its metrics.jsonl record.
  Status EndEpoch(const EpochMetrics& metrics);
  // summary.json, from the last epoch's figures.
  Status EndRun(const EpochMetrics& last, double total_sec);

 private:
  bool reporter() const { return collective_->rank() == 0; }

  const EpochReportOptions options_;
  Collective* collective_;
  client::PsClient* client_;
  ProgressLine progress_;
  // Set by PrintStart: a ranking model's epoch line shows its training loss by name and
  // no rating errors (train/epoch_report.cc).
  bool ranking_ = false;
  std::string loss_name_;
};

}  // namespace psrec::train
