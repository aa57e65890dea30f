#include "train/epoch_report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <string>

#include "checkpoint/checkpoint_format.h"

namespace psrec::train {
namespace {

// train_rmse is NaN when training.eval_train_sample is 0, test figures when there is no
// test split: "-" rather than "nan".
std::string Figure(double v) {
  if (!std::isfinite(v)) return "     -";
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", v);
  return text;
}

// "HR@10 0.6120  NDCG@10 0.3310": names upper-cased, counts left for the JSON.
std::string RankingLine(const std::vector<std::pair<std::string, double>>& figures) {
  std::string line;
  for (const auto& [name, value] : figures) {
    if (name.starts_with("test_")) continue;
    std::string shown;
    for (char c : name) shown += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!line.empty()) line += "  ";
    line += shown + " " + Figure(value);
  }
  return line;
}

}  // namespace

EpochReport::EpochReport(const EpochReportOptions& options, Collective* collective,
                         client::PsClient* client)
    : options_(options),
      collective_(collective),
      client_(client),
      progress_(options.progress && collective->rank() == 0) {}

void EpochReport::PrintStart(const models::Model& model, int64_t batches_per_epoch,
                             const std::string& mode_note) {
  ranking_ = model.evaluation() == models::Evaluation::kRanking;
  loss_name_ = std::string(model.loss_name());
  if (!reporter() || !options_.print_epochs) return;
  std::string scalars;
  for (const auto& [name, value] : model.scalars()) {
    char text[96];
    std::snprintf(text, sizeof(text), ", %s %.4f", name.c_str(), value);
    scalars += text;
  }
  std::printf("training %s: %d servers, %d workers%s, %lld batches/epoch%s\n",
              std::string(model.description()).c_str(), options_.num_servers,
              collective_->size(), scalars.c_str(), static_cast<long long>(batches_per_epoch),
              mode_note.c_str());
  std::fflush(stdout);
}

void EpochReport::Progress(int epoch, size_t batches_done, int64_t batches,
                           const TrainSums& sums, double elapsed_sec) {
  const double fraction = static_cast<double>(batches_done) / static_cast<double>(batches);
  const double rate = static_cast<double>(sums.ratings) / std::max(elapsed_sec, 1e-9) *
                      collective_->size();
  const int epochs = options_.job->training().epochs();
  const double eta = elapsed_sec / fraction * (1 - fraction) +
                     elapsed_sec / fraction * (epochs - epoch - 1);
  progress_.Update(epoch + 1, epochs, fraction, rate,
                   sums.squared_error / static_cast<double>(std::max<size_t>(sums.ratings, 1)),
                   eta);
}

Status EpochReport::ReduceTraining(int epoch, const TrainSums& sums, double train_sec,
                                   float item_lr, EpochMetrics* metrics) {
  double totals[2] = {sums.squared_error, static_cast<double>(sums.ratings)};
  RETURN_IF_ERROR(collective_->AllReduceSum(std::span<double>(totals, 2)));
  double slowest[1] = {train_sec};
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(slowest, 1)));
  metrics->epoch = epoch + 1;
  metrics->train_loss = totals[0] / std::max(totals[1], 1.0);
  metrics->ratings = static_cast<int64_t>(totals[1]);
  metrics->epoch_sec = slowest[0];
  metrics->ratings_per_sec = totals[1] / std::max(slowest[0], 1e-9);
  metrics->learning_rate = item_lr;
  return Status::OK();
}

Status EpochReport::ReduceEvaluation(const ErrorSums& test, const ErrorSums& train,
                                     EpochMetrics* metrics) {
  double sums[5] = {test.squared, test.absolute, test.count, train.squared, train.count};
  RETURN_IF_ERROR(collective_->AllReduceSum(std::span<double>(sums, 5)));
  const double nan = std::nan("");
  metrics->test_rmse = sums[2] > 0 ? std::sqrt(sums[0] / sums[2]) : nan;
  metrics->test_mae = sums[2] > 0 ? sums[1] / sums[2] : nan;
  metrics->train_rmse = sums[4] > 0 ? std::sqrt(sums[3] / sums[4]) : nan;
  if (client_ == nullptr) return Status::OK();
  const client::ClientStats stats = client_->stats();
  double totals[3] = {static_cast<double>(stats.bytes_sent),
                      static_cast<double>(stats.bytes_received), stats.pull_wait_sec};
  RETURN_IF_ERROR(collective_->AllReduceSum(std::span<double>(totals, 3)));
  double staleness[1] = {static_cast<double>(stats.max_staleness)};
  RETURN_IF_ERROR(collective_->AllReduceMax(std::span<double>(staleness, 1)));
  metrics->bytes_sent = totals[0];
  metrics->bytes_received = totals[1];
  metrics->pull_wait_sec = totals[2];
  metrics->max_staleness = staleness[0];
  return Status::OK();
}

void EpochReport::PrintCheckpoint(int64_t step, const CheckpointPause& pause) {
  if (!reporter() || !options_.print_epochs) return;
  progress_.Clear();
  std::printf("checkpoint %s/%s: training paused %.1f ms (table copy %.1f ms), written in "
              "the background\n",
              options_.job->checkpoint().dir().c_str(),
              checkpoint::CheckpointDirName(step).c_str(), pause.pause_sec * 1e3,
              pause.snapshot_sec * 1e3);
  std::fflush(stdout);
}

Status EpochReport::EndEpoch(const EpochMetrics& metrics) {
  if (!reporter()) return Status::OK();
  progress_.Clear();
  if (options_.print_epochs && !metrics.ranking.empty()) {
    std::printf("epoch %3d  train_loss %.4f  %s  %.2fM %s/s  %.2fs (eval %.2fs)\n",
                metrics.epoch, metrics.train_loss, RankingLine(metrics.ranking).c_str(),
                metrics.ratings_per_sec / 1e6, ranking_ ? "examples" : "ratings",
                metrics.epoch_sec, metrics.eval_sec);
    std::fflush(stdout);
  } else if (options_.print_epochs && ranking_) {
    // Implicit models: the loss per training example (positives and their negatives).
    std::printf("epoch %3d  train_loss %.4f (%s per example)  %.2fM examples/s  %.2fs\n",
                metrics.epoch, metrics.train_loss, loss_name_.c_str(),
                metrics.ratings_per_sec / 1e6, metrics.epoch_sec);
    std::fflush(stdout);
  } else if (options_.print_epochs) {
    std::printf("epoch %3d  train_loss %.4f  train_rmse %s  test_rmse %s  test_mae %s"
                "  %.2fM ratings/s  %.2fs\n",
                metrics.epoch, metrics.train_loss, Figure(metrics.train_rmse).c_str(),
                Figure(metrics.test_rmse).c_str(), Figure(metrics.test_mae).c_str(),
                metrics.ratings_per_sec / 1e6, metrics.epoch_sec);
    for (const auto& [name, value] : metrics.mode_figures) {
      std::printf("    %s %.6g", name.c_str(), value);
    }
    if (!metrics.mode_figures.empty()) std::printf("\n");
    std::fflush(stdout);
  }
  return options_.report == nullptr ? Status::OK() : options_.report->AppendEpoch(metrics);
}

Status EpochReport::EndRun(const EpochMetrics& last, double total_sec) {
  if (!reporter() || options_.report == nullptr) return Status::OK();
  return options_.report->WriteSummary(last, total_sec, options_.num_servers, collective_->size());
}

}  // namespace psrec::train
