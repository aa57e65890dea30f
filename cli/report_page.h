// The page of `psrec report`: one self-contained HTML file (inline SVG and CSS, no script, no
// network) showing one run, or several overlaid, from their run directories
// (train/run_report.h: config.textproto, metrics.jsonl, summary.json).
//
// Charts are made generically from metrics.jsonl, so a metric added there (HR@K, NDCG@K, ...)
// is plotted without a change here: every numeric field but "epoch" becomes a series over
// epochs; fields that differ only by a "train_"/"test_" prefix share a chart (train_rmse and
// test_rmse), as do "bytes_*" and "checkpoint_*" fields. The training-quality charts and
// ratings/s are drawn again over wall time (the sum of epoch_sec and eval_sec so far).
// Epochs after a restart carry "restarts", which is plotted like any other field.
//
// Pure functions except LoadRunDirectory (reads files); thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace psrec::cli {

struct RunDirectory {
  std::string dir;
  std::string label;          // what the run is called in legends: the directory's name
  std::string config_text;    // config.textproto, empty when absent
  Json summary;               // summary.json, null when absent (the run did not finish)
  std::vector<Json> epochs;   // metrics.jsonl, one object per line
  int bad_lines = 0;          // lines of metrics.jsonl that were not a JSON object (skipped)
};

// Reads a run directory. NotFound when it has no metrics.jsonl; a torn or bad line is
// skipped and counted (a run killed mid-write leaves one).
Result<RunDirectory> LoadRunDirectory(const std::string& dir);

// The HTML page. REQUIRES: !runs.empty(). With several runs, each chart has one series per
// run and metric, named "<label>: <metric>" (or "<label>" when the chart has one metric).
std::string RenderReportPage(const std::vector<RunDirectory>& runs);

}  // namespace psrec::cli
