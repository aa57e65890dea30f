// Resume checks what it resumes from (issue 14, point 2): a checkpoint of another job (job
// id, model, data) is refused unless --resume-other-job, a flipped MANIFEST is refused by
// --resume-from and by the servers' loads, and every resume says where it starts. Runs
// `psrec sim` in-process (RunSimCommand) on the small planted job.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_format.h"
#include "checkpoint/checkpoint_reader.h"
#include "cli/commands.h"
#include "cli/run_setup.h"
#include "common/config.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct SimRun {
  int code;
  std::string out;
  std::string err;
};

class ResumeIdentityTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("psrec_resume_id_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    job_ = SmallJob(1, 1);
    job_.set_job_id("ratings-a");
    job_.mutable_training()->set_epochs(2);
    job_.mutable_checkpoint()->set_dir((root_ / "ckpt").string());
    job_.mutable_checkpoint()->set_every_epochs(1);
    ASSERT_TRUE(RunJob(job_).ok());
    Result<std::string> latest = checkpoint::LatestValidCheckpoint((root_ / "ckpt").string());
    ASSERT_TRUE(latest.ok()) << latest.status().message();
    latest_ = *latest;
  }
  void TearDown() override { fs::remove_all(root_); }

  // `psrec sim --config <job> --quiet --out <fresh dir> args...` for 3 epochs (one more).
  SimRun Sim(config::JobConfig job, std::vector<std::string> args) {
    job.mutable_training()->set_epochs(3);
    job.mutable_checkpoint()->clear_dir();
    const std::string config = (root_ / ("job" + std::to_string(runs_) + ".textproto")).string();
    std::ofstream(config) << EffectiveConfigText(job);
    std::vector<std::string> all = {"sim", "--config", config, "--quiet", "--out",
                                    (root_ / ("out" + std::to_string(runs_++))).string()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all) argv.push_back(a.data());
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    const int code = RunSimCommand(static_cast<int>(argv.size()), argv.data());
    SimRun run{code, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
    return run;
  }

  fs::path root_;
  config::JobConfig job_;
  std::string latest_;
  int runs_ = 0;
};

TEST_F(ResumeIdentityTest, EveryResumeSaysWhereItStarts) {
  Result<checkpoint::LoadedCheckpoint> ckpt = checkpoint::ReadCheckpoint(latest_);
  ASSERT_TRUE(ckpt.ok());
  const checkpoint::Manifest& m = ckpt->manifest;
  const std::string line = "resuming from " + latest_ + ": step " + std::to_string(m.step()) +
                           ", epoch 2, clock " + std::to_string(m.clock());
  SimRun from = Sim(job_, {"--resume-from", latest_});
  ASSERT_EQ(from.code, 0) << from.err;
  EXPECT_THAT(from.out, HasSubstr(line));

  config::JobConfig with_dir = job_;
  SimRun latest = Sim(with_dir, {"--set", "checkpoint.dir=" + (root_ / "ckpt").string(), "--resume"});
  ASSERT_EQ(latest.code, 0) << latest.err;
  EXPECT_THAT(latest.out, HasSubstr(line));

  SimRun fresh = Sim(job_, {});
  ASSERT_EQ(fresh.code, 0) << fresh.err;
  EXPECT_THAT(fresh.out, Not(HasSubstr("resuming")));
}

TEST_F(ResumeIdentityTest, AnotherJobIdIsRefusedUnlessForced) {
  config::JobConfig other = job_;
  other.set_job_id("ratings-b");
  SimRun refused = Sim(other, {"--resume-from", latest_});
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.err, HasSubstr(latest_ + " was written by another job: job id 'ratings-a' "
                                     "(checkpoint) vs 'ratings-b' (this job)"));
  EXPECT_THAT(refused.err, HasSubstr("--resume-other-job"));

  // --resume finds the same checkpoint in checkpoint.dir, and refuses it the same way.
  SimRun latest = Sim(other, {"--set", "checkpoint.dir=" + (root_ / "ckpt").string(), "--resume"});
  EXPECT_EQ(latest.code, 2);
  EXPECT_THAT(latest.err, HasSubstr("job id 'ratings-a'"));

  SimRun forced = Sim(other, {"--resume-from", latest_, "--resume-other-job"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_THAT(forced.err, HasSubstr("warning: --resume-other-job: "));
  EXPECT_THAT(forced.out, HasSubstr("resuming from " + latest_));
}

TEST_F(ResumeIdentityTest, OtherDataIsRefusedNamingTheField) {
  config::JobConfig other = job_;
  other.mutable_data()->mutable_synthetic()->set_seed(12);
  SimRun refused = Sim(other, {"--resume-from", latest_});
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.err, HasSubstr("data.synthetic.seed 11 (checkpoint) vs 12 (this job)"));
  EXPECT_THAT(refused.err, Not(HasSubstr("job id")));
  SimRun forced = Sim(other, {"--resume-from", latest_, "--resume-other-job"});
  EXPECT_EQ(forced.code, 0) << forced.err;

  // Settings of the run, not of the data, are the same job.
  config::JobConfig reshaped = job_;
  reshaped.mutable_cluster()->set_workers(2);
  SimRun same = Sim(reshaped, {"--resume-from", latest_});
  EXPECT_EQ(same.code, 0) << same.err;

  EXPECT_EQ(Sim(job_, {"--resume-other-job"}).code, 2);  // without a resume
}

TEST_F(ResumeIdentityTest, AFlippedManifestIsRefusedByResumeAndByTheServers) {
  const fs::path manifest = fs::path(latest_) / checkpoint::kManifestName;
  std::string bytes;
  {
    std::ifstream in(manifest, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    bytes = ss.str();
  }
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x04);
  std::ofstream(manifest, std::ios::binary | std::ios::trunc) << bytes;

  SimRun refused = Sim(job_, {"--resume-from", latest_});
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr(manifest.string() + ": checksum mismatch"));
  EXPECT_THAT(refused.out, Not(HasSubstr("resuming")));

  // Past the command line: a job handed the checkpoint directly (the servers and workers
  // read it through ReadCheckpoint) refuses it too.
  SimulationOptions options;
  options.job = job_;
  options.print_epochs = false;
  options.resume_from = latest_;
  Result<SimulationResult> run = RunSimulation(options);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("checksum mismatch"));

  // --resume skips it for the older checkpoint, and says which one it took.
  SimRun skipped = Sim(job_, {"--set", "checkpoint.dir=" + (root_ / "ckpt").string(), "--resume"});
  ASSERT_EQ(skipped.code, 0) << skipped.err;
  EXPECT_THAT(skipped.out, HasSubstr("epoch 1, clock"));
}

}  // namespace
}  // namespace psrec::cli
