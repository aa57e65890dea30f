// What `psrec train` and `psrec sim` share before a job starts: the job flags, loading and
// validating the config, the output directory and the progress decision.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/flags.h"
#include "common/proto/config.pb.h"
#include "common/status.h"
#include "table/table_spec.h"
#include "train/run_report.h"

namespace psrec::cli {

struct CommonJobFlags {
  std::string config_path;
  std::vector<std::string> overrides;  // --set a.b=c
  std::string out_dir;
  bool progress = false;
  bool no_progress = false;  // --no-progress
  bool quiet = false;        // --quiet: errors and the final summary only
  bool resume = false;       // --resume: the latest valid checkpoint in checkpoint.dir
  std::string resume_from;   // --resume-from DIR: that checkpoint
  bool resume_other_job = false;  // --resume-other-job: accept a checkpoint of another job
  // --restart-count K, set by `psrec launch` when it relaunches a failed job: the report
  // appends to metrics.jsonl and marks what it writes with "restarts": K.
  int restart_count = 0;
  void Register(FlagSet* flags);
};

struct RunSetup {
  config::JobConfig job;  // with an entry for every table of the model
  std::vector<TableSpec> tables;  // the model's tables (models::TableSpecsFor)
  std::string out_dir;
  std::unique_ptr<train::RunReport> report;  // only for the reporting process
  bool progress = false;
  bool quiet = false;  // no start, epoch or checkpoint lines; PrintRunFooter sums up instead
  // The checkpoint to resume from (root/step-N), empty for a fresh start, and where it
  // stands; resume_line says so in one line ("resuming from DIR: step N, epoch E, clock C").
  std::string resume_from;
  int64_t resume_clock = 0;
  int64_t resume_step = 0;
  int resume_epoch = 0;
  std::string resume_line;
};

// Loads the config with the overrides; when `reporter`, creates the output directory.
// Resolves --resume (skipping invalid checkpoints with a warning naming why) and checks
// --resume-from; either is refused (InvalidArgument saying what differs) when the checkpoint
// was written by another job (checkpoint/job_identity.h) unless resume_other_job. When
// `reporter` and resuming, prints resume_line on stdout (and a warning for a forced resume).
Result<RunSetup> PrepareRun(CommonJobFlags flags, bool reporter);

// "results in DIR" after a successful run; with --quiet, the final epoch's figures first.
void PrintRunFooter(const RunSetup& setup);

}  // namespace psrec::cli
