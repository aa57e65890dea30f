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
  bool no_progress = false;
  bool resume = false;       // --resume: the latest valid checkpoint in checkpoint.dir
  std::string resume_from;   // --resume-from DIR: that checkpoint
  void Register(FlagSet* flags);
};

struct RunSetup {
  config::JobConfig job;  // with an entry for every table of the model
  std::vector<TableSpec> tables;  // the model's tables (models::TableSpecsFor)
  std::string out_dir;
  std::unique_ptr<train::RunReport> report;  // only for the reporting process
  bool progress = false;
  // The checkpoint to resume from (root/step-N), empty for a fresh start, and its clock.
  std::string resume_from;
  int64_t resume_clock = 0;
};

// Loads the config with the overrides; when `reporter`, creates the output directory.
// Resolves --resume (skipping invalid checkpoints with a warning naming why) and checks
// --resume-from.
Result<RunSetup> PrepareRun(CommonJobFlags flags, bool reporter);

// "results in DIR" after a successful run.
void PrintRunFooter(const RunSetup& setup);

}  // namespace psrec::cli
