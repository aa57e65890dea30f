// RunReport: what a training run leaves behind in its output directory, written by worker 0:
//   config.textproto  the effective config (every field)
//   metrics.jsonl     one JSON object per epoch (EpochMetrics below, fields in that order)
//   summary.json      the final figures: servers, workers, total_sec, final (the last epoch)
// After a restart (`psrec sim --max-restarts`, or `psrec launch` relaunching a job), each
// metrics.jsonl line written since and summary.json carry "restarts": how many times the job
// was restarted so far (absent: 0). A relaunched process opens metrics.jsonl to append, so
// the lines of the runs before the restart stay.
// Figures have 10 significant digits; a non-finite one (test_rmse without a test set) is
// null, since JSON has no NaN (common/json.h).
// and the human-facing lines: one per epoch on stdout, a progress line on stderr.
//
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace psrec::train {

// Figures of one epoch, already reduced over all workers.
struct EpochMetrics {
  int epoch = 0;               // 1-based
  double train_loss = 0;       // mean squared error over the epoch's batches (before updates)
  double train_rmse = 0;       // on a sample of the training set, after the epoch
  double test_rmse = 0;        // NaN when there is no test set
  double test_mae = 0;
  double ratings_per_sec = 0;  // all workers, training only (no evaluation)
  double epoch_sec = 0;
  double eval_sec = 0;
  double bytes_sent = 0;       // cumulative, all workers
  double bytes_received = 0;   // cumulative, all workers
  double pull_wait_sec = 0;    // cumulative, summed over workers: time blocked on pulls
  double max_staleness = 0;    // clocks between a worker and the slowest one, at any pull
  double learning_rate = 0;    // item table's, this epoch
  int64_t ratings = 0;         // trained this epoch, all workers
  // When a checkpoint was taken after this epoch (else negative, and left out of the JSON):
  // the training pause (copy plus barrier) and the slowest in-memory copy of the tables.
  double checkpoint_pause_sec = -1;
  double checkpoint_snapshot_sec = -1;
  // The update mode's own figures (UpdateMode::EndEpoch; FEDERATED: clients, bytes per
  // client, times), written to metrics.jsonl under their names.
  std::vector<std::pair<std::string, double>> mode_figures;
  // Ranking evaluation (evaluation.protocol LEAVE_ONE_OUT, FULL_RANKING): named figures in
  // display order, e.g. {"hr@10", 0.61}, {"ndcg@10", 0.33}; empty for rating error.
  std::vector<std::pair<std::string, double>> ranking;
};

class RunReport {
 public:
  // Creates `dir` (and parents) and writes config.textproto. metrics.jsonl is truncated,
  // or appended to when `append_metrics` (a relaunched job continuing its report).
  static Result<RunReport> Open(const std::string& dir, const std::string& effective_config,
                                bool append_metrics = false);
  RunReport(RunReport&& other) noexcept;
  ~RunReport();

  Status AppendEpoch(const EpochMetrics& m);
  Status WriteSummary(const EpochMetrics& last, double total_sec, int servers, int workers);
  const std::string& dir() const { return dir_; }
  // The restarts so far, written from now on (see the header comment).
  void set_restarts(int restarts) { restarts_ = restarts; }
  int restarts() const { return restarts_; }

 private:
  RunReport(std::string dir, FILE* metrics) : dir_(std::move(dir)), metrics_(metrics) {}
  std::string dir_;
  FILE* metrics_ = nullptr;
  int restarts_ = 0;
};

// One epoch as a line of metrics.jsonl, without the newline.
std::string EpochMetricsJson(const EpochMetrics& m);

// A one-line progress indicator; prints at most every 0.5 s, overwriting itself on a TTY.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  void Update(int epoch, int epochs, double fraction, double ratings_per_sec, double loss,
              double eta_sec);
  void Clear();

 private:
  bool enabled_;
  bool tty_;
  double last_print_ = -1;
  bool dirty_ = false;
};

}  // namespace psrec::train
