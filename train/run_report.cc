#include "train/run_report.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/json.h"

namespace psrec::train {
namespace {

// Ten significant digits, as the reports always had: more than any figure here is worth.
Json Number(double v) { return JsonNumber(v, 10); }

Json EpochMetricsObject(const EpochMetrics& m) {
  Json j;
  j["epoch"] = m.epoch;
  j["train_loss"] = Number(m.train_loss);
  j["train_rmse"] = Number(m.train_rmse);
  j["test_rmse"] = Number(m.test_rmse);  // null without a test set
  j["test_mae"] = Number(m.test_mae);
  j["ratings"] = m.ratings;
  j["ratings_per_sec"] = Number(m.ratings_per_sec);
  j["epoch_sec"] = Number(m.epoch_sec);
  j["eval_sec"] = Number(m.eval_sec);
  j["learning_rate"] = Number(m.learning_rate);
  j["bytes_sent"] = Number(m.bytes_sent);
  j["bytes_received"] = Number(m.bytes_received);
  j["pull_wait_sec"] = Number(m.pull_wait_sec);
  j["max_staleness"] = Number(m.max_staleness);
  for (const auto& [name, value] : m.mode_figures) j[name] = Number(value);
  for (const auto& [name, value] : m.ranking) j[name] = Number(value);
  if (m.checkpoint_pause_sec >= 0) {
    j["checkpoint_pause_sec"] = Number(m.checkpoint_pause_sec);
    j["checkpoint_snapshot_sec"] = Number(m.checkpoint_snapshot_sec);
  }
  return j;
}

double NowSec() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string EpochMetricsJson(const EpochMetrics& m) { return JsonText(EpochMetricsObject(m)); }

Result<RunReport> RunReport::Open(const std::string& dir, const std::string& effective_config,
                                  bool append_metrics) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError(dir + ": cannot create output directory: " + ec.message());
  {
    std::ofstream config(dir + "/config.textproto");
    config << effective_config;
    if (!config) return Status::IoError(dir + "/config.textproto: write failed");
  }
  FILE* metrics = std::fopen((dir + "/metrics.jsonl").c_str(), append_metrics ? "a" : "w");
  if (metrics == nullptr) return Status::IoError(dir + "/metrics.jsonl: cannot open for writing");
  return RunReport(dir, metrics);
}

RunReport::RunReport(RunReport&& other) noexcept
    : dir_(std::move(other.dir_)), metrics_(other.metrics_), restarts_(other.restarts_) {
  other.metrics_ = nullptr;
}

RunReport::~RunReport() {
  if (metrics_ != nullptr) std::fclose(metrics_);
}

Status RunReport::AppendEpoch(const EpochMetrics& m) {
  Json line = EpochMetricsObject(m);
  if (restarts_ > 0) line["restarts"] = restarts_;
  return WriteJsonLine(metrics_, dir_ + "/metrics.jsonl", line);
}

Status RunReport::WriteSummary(const EpochMetrics& last, double total_sec, int servers,
                               int workers) {
  Json summary;
  summary["servers"] = servers;
  summary["workers"] = workers;
  summary["total_sec"] = Number(total_sec);
  summary["final"] = EpochMetricsObject(last);
  if (restarts_ > 0) summary["restarts"] = restarts_;
  return WriteJsonFile(dir_ + "/summary.json", summary);
}

ProgressLine::ProgressLine(bool enabled) : enabled_(enabled), tty_(isatty(STDERR_FILENO) == 1) {}

void ProgressLine::Update(int epoch, int epochs, double fraction, double ratings_per_sec,
                          double loss, double eta_sec) {
  if (!enabled_) return;
  double now = NowSec();
  if (last_print_ >= 0 && now - last_print_ < 0.5) return;
  last_print_ = now;
  char line[200];
  std::snprintf(line, sizeof(line),
                "epoch %d/%d %5.1f%%  %.2fM ratings/s  loss %.4f  ETA %.0fs", epoch, epochs,
                100 * fraction, ratings_per_sec / 1e6, loss, eta_sec);
  if (tty_) {
    std::fprintf(stderr, "\r%-78s", line);
    dirty_ = true;
  } else {
    std::fprintf(stderr, "%s\n", line);
  }
  std::fflush(stderr);
}

void ProgressLine::Clear() {
  if (dirty_) std::fprintf(stderr, "\r%78s\r", "");
  dirty_ = false;
}

}  // namespace psrec::train
