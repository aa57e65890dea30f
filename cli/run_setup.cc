#include "cli/run_setup.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include "common/config.h"
#include "common/json.h"
#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_reader.h"
#include "checkpoint/job_identity.h"
#include "models/model_tables.h"

namespace psrec::cli {

void CommonJobFlags::Register(FlagSet* flags) {
  flags->AddString("config", &config_path, "job config, Protobuf text (see configs/)");
  flags->AddRepeated("set", &overrides, "override a config field, e.g. --set training.epochs=5");
  flags->AddString("out", &out_dir, "run directory [default: output.dir, else runs/<timestamp>]");
  flags->AddBool("progress", &progress, "force the progress line on stderr");
  flags->AddBool("no-progress", &no_progress, "never print the progress line");
  flags->AddBool("quiet", &quiet,
                 "print only errors and the final summary (no epoch lines, no progress line)");
  flags->AddBool("resume", &resume,
                 "continue from the latest valid checkpoint in checkpoint.dir (newer invalid "
                 "ones are skipped with a warning); any number of servers and workers");
  flags->AddString("resume-from", &resume_from,
                   "continue from this checkpoint directory (checkpoint.dir/step-N)");
  flags->AddBool("resume-other-job", &resume_other_job,
                 "with --resume/--resume-from: accept a checkpoint written by another job "
                 "(other job id, model type or data), which is refused otherwise");
  flags->AddInt("restart-count", &restart_count,
                "set by 'psrec launch' on a relaunch: restarts so far (metrics.jsonl is "
                "appended to, its lines carry \"restarts\")");
}

namespace {

// The checkpoint a run resumes from: validated (checksums included) before any process
// starts, so that a bad one is one clear error, not S+W of them.
// `forced` gets a warning when another job's checkpoint is accepted by the flag.
Status ResolveResume(const CommonJobFlags& flags, RunSetup* setup, std::string* forced) {
  if (flags.resume_other_job && !flags.resume && flags.resume_from.empty()) {
    return Status::InvalidArgument("--resume-other-job goes with --resume or --resume-from");
  }
  if (flags.resume && !flags.resume_from.empty()) {
    return Status::InvalidArgument("give --resume or --resume-from, not both");
  }
  if (flags.resume) {
    const std::string& root = setup->job.checkpoint().dir();
    if (root.empty()) {
      return Status::InvalidArgument("--resume needs checkpoint.dir (or use --resume-from DIR)");
    }
    ASSIGN_OR_RETURN(setup->resume_from, checkpoint::LatestValidCheckpoint(root));
  } else if (!flags.resume_from.empty()) {
    RETURN_IF_ERROR(checkpoint::ReadCheckpoint(flags.resume_from).status());
    setup->resume_from = flags.resume_from;
  } else {
    return Status::OK();
  }
  checkpoint::ReadCheckpointOptions quick;
  quick.verify_checksums = false;
  ASSIGN_OR_RETURN(checkpoint::LoadedCheckpoint checkpoint, checkpoint::ReadCheckpoint(setup->resume_from, quick));
  const checkpoint::Manifest& m = checkpoint.manifest;
  Status same_job =
      checkpoint::CheckSameJob(m.identity(), checkpoint::JobIdentityOf(setup->job), setup->resume_from);
  if (!same_job.ok()) {
    if (!flags.resume_other_job) return same_job;
    *forced = "warning: --resume-other-job: " + same_job.message();
  }
  setup->resume_clock = m.clock();
  setup->resume_step = m.step();
  setup->resume_epoch = m.epoch();
  setup->resume_line = "resuming from " + setup->resume_from + ": step " +
                       std::to_string(m.step()) + ", epoch " + std::to_string(m.epoch()) +
                       ", clock " + std::to_string(m.clock());
  return Status::OK();
}

}  // namespace

Result<RunSetup> PrepareRun(CommonJobFlags flags, bool reporter) {
  RunSetup setup;
  if (!flags.out_dir.empty()) flags.overrides.push_back("output.dir=" + flags.out_dir);
  ASSIGN_OR_RETURN(setup.job, LoadJobConfig(flags.config_path, flags.overrides));
  {
    // The model checks the config's tables against its own (names, placements).
    ASSIGN_OR_RETURN(models::JobModel job_model, models::ModelForJob(setup.job));
    setup.job = models::WithEveryTable(*job_model.model, setup.job);
    setup.tables = std::move(job_model.tables);
  }
  setup.out_dir = setup.job.output().dir();
  if (setup.out_dir.empty()) {
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", std::localtime(&now));
    setup.out_dir = std::string("runs/") + stamp;
    setup.job.mutable_output()->set_dir(setup.out_dir);
  }
  switch (setup.job.output().progress()) {
    case config::OutputConfig::ON: setup.progress = true; break;
    case config::OutputConfig::OFF: setup.progress = false; break;
    default: setup.progress = isatty(STDERR_FILENO) == 1; break;
  }
  std::string forced;
  RETURN_IF_ERROR(ResolveResume(flags, &setup, &forced));
  if (flags.restart_count < 0) {
    return Status::InvalidArgument("--restart-count: expected 0 or more, got " +
                                   std::to_string(flags.restart_count));
  }
  if (flags.progress) setup.progress = true;
  if (flags.no_progress || flags.quiet) setup.progress = false;
  setup.quiet = flags.quiet;
  if (reporter) {
    ASSIGN_OR_RETURN(train::RunReport report,
                     train::RunReport::Open(setup.out_dir, EffectiveConfigText(setup.job),
                                            /*append_metrics=*/flags.restart_count > 0));
    setup.report = std::make_unique<train::RunReport>(std::move(report));
    setup.report->set_restarts(flags.restart_count);
    if (!forced.empty()) std::fprintf(stderr, "%s\n", forced.c_str());
    if (!setup.resume_line.empty()) std::printf("%s\n", setup.resume_line.c_str());
    std::fflush(stdout);
  }
  return setup;
}

void PrintRunFooter(const RunSetup& setup) {
  if (setup.quiet) {
    // The epoch lines were not printed: the last one's figures, from summary.json.
    std::ifstream file(setup.out_dir + "/summary.json");
    Json summary = Json::parse(file, nullptr, /*allow_exceptions=*/false);
    if (summary.is_object() && summary.contains("final") && summary["final"].is_object()) {
      std::string line = "final:";
      for (const char* key : {"epoch", "train_rmse", "test_rmse", "test_mae"}) {
        auto it = summary["final"].find(key);
        if (it == summary["final"].end() || !it->is_number()) continue;
        char text[64];
        if (it->is_number_integer()) {
          std::snprintf(text, sizeof(text), " %s %lld", key, it->get<long long>());
        } else {
          std::snprintf(text, sizeof(text), " %s %.4f", key, it->get<double>());
        }
        line += text;
      }
      auto total = summary.find("total_sec");
      if (total != summary.end() && total->is_number()) {
        char text[48];
        std::snprintf(text, sizeof(text), " (%.2fs total)", total->get<double>());
        line += text;
      }
      std::printf("%s\n", line.c_str());
    }
  }
  std::printf("results in %s (metrics.jsonl, summary.json, config.textproto)\n",
              setup.out_dir.c_str());
  std::fflush(stdout);
}

}  // namespace psrec::cli
