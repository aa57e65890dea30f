// Graceful stop (SIGTERM/SIGINT's flag, cli/stop_signal.h) and `psrec sim --max-restarts`
// (cli/simulation_restarts.h), end to end in one process. The stop flag is set, and worker
// failures injected, from the trainers' own threads at a given step (the after_batch seam),
// so the tests do not depend on timing.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <chrono>

#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_reader.h"
#include "cli/simulation.h"
#include "cli/simulation_restarts.h"
#include "cli/stop_signal.h"
#include "common/json.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;

// 1500 users x 40 ratings, 10% held out, 128-rating batches: 422 batches per epoch for one
// worker, so step 500 lies in the second epoch.
constexpr int64_t kStepInSecondEpoch = 500;

// SmallJob, 4 epochs of AdaGrad (its state must survive the checkpoint), BSP.
config::JobConfig FourEpochJob(int workers) {
  config::JobConfig job = SmallJob(2, workers);
  SetOptimizer(&job, config::OptimizerConfig::ADAGRAD, 0.1f, 1.0f);
  job.mutable_training()->set_epochs(4);
  job.mutable_training()->set_consistency(config::BSP);
  return job;
}

class GracefulStopTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("psrec_stop_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string CheckpointDir() const { return (root_ / "ckpt").string(); }

  static SimulationOptions Options(const config::JobConfig& job) {
    SimulationOptions options;
    options.job = job;
    options.print_epochs = false;
    return options;
  }

  fs::path root_;
};

TEST_F(GracefulStopTest, StopCheckpointsAtTheEpochsEndAndResumeIsBitwiseEqual) {
  const config::JobConfig job = FourEpochJob(1);
  Result<SimulationResult> straight = RunSimulation(Options(job));
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  ASSERT_FALSE(straight->stopped_after_epoch);

  // Checkpoints only at the end of the job (none due before it), so the one found is the stop's.
  config::JobConfig with_dir = job;
  with_dir.mutable_checkpoint()->set_dir(CheckpointDir());
  std::atomic<bool> stop{false};
  SimulationOptions stopping = Options(with_dir);
  stopping.stop = &stop;
  stopping.after_batch = [&stop](int, int64_t step) {
    if (step == kStepInSecondEpoch) stop = true;
    return Status::OK();
  };
  Result<SimulationResult> stopped = RunSimulation(stopping);
  ASSERT_TRUE(stopped.ok()) << stopped.status().message();
  ASSERT_EQ(stopped->stopped_after_epoch, 2);
  ASSERT_EQ(stopped->history.size(), 2u);
  ExpectSameEpochs(std::span(straight->history).first(2), stopped->history);

  Result<std::string> latest = checkpoint::LatestValidCheckpoint(CheckpointDir());
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  checkpoint::ReadCheckpointOptions read;
  Result<checkpoint::LoadedCheckpoint> taken = checkpoint::ReadCheckpoint(*latest, read);
  ASSERT_TRUE(taken.ok()) << taken.status().message();
  EXPECT_EQ(taken->manifest.epoch(), 2);
  const std::string line = StoppedLine("psrec sim", with_dir, 2);
  EXPECT_NE(line.find("stopped after epoch 2 of 4"), std::string::npos) << line;
  EXPECT_NE(line.find(*latest), std::string::npos) << line;
  EXPECT_NE(line.find("--resume"), std::string::npos) << line;

  SimulationOptions resuming = Options(with_dir);
  resuming.resume_from = *latest;
  Result<SimulationResult> resumed = RunSimulation(resuming);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_FALSE(resumed->stopped_after_epoch);
  ExpectSameEpochs(std::span(straight->history).subspan(2), resumed->history);
}

// Two workers: the flag is seen by both at the epoch's end (agreed by a max over the
// workers), so both stop after the same epoch and the checkpoint is whole.
TEST_F(GracefulStopTest, TwoWorkersStopTogetherWithAValidCheckpoint) {
  config::JobConfig job = FourEpochJob(2);
  job.mutable_checkpoint()->set_dir(CheckpointDir());
  std::atomic<bool> stop{false};
  SimulationOptions options = Options(job);
  options.stop = &stop;
  options.after_batch = [&stop](int worker, int64_t step) {
    if (worker == 1 && step == 10) stop = true;
    return Status::OK();
  };
  Result<SimulationResult> stopped = RunSimulation(options);
  ASSERT_TRUE(stopped.ok()) << stopped.status().message();
  EXPECT_EQ(stopped->stopped_after_epoch, 1);
  Result<std::vector<checkpoint::CheckpointListing>> listed =
      checkpoint::ListCheckpoints(CheckpointDir(), /*verify_checksums=*/true);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->front().valid) << listed->front().why;
  EXPECT_EQ(listed->front().epoch, 1);
}

TEST_F(GracefulStopTest, StopInTheLastEpochFinishesTheJob) {
  config::JobConfig job = FourEpochJob(1);
  job.mutable_training()->set_epochs(2);
  std::atomic<bool> stop{false};
  SimulationOptions options = Options(job);
  options.stop = &stop;
  options.after_batch = [&stop](int, int64_t step) {
    if (step == kStepInSecondEpoch) stop = true;
    return Status::OK();
  };
  Result<SimulationResult> run = RunSimulation(options);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_FALSE(run->stopped_after_epoch);
  EXPECT_EQ(run->history.size(), 2u);
  EXPECT_NE(StoppedLine("psrec sim", job, 1).find("cannot be resumed"), std::string::npos);
}

// A worker that fails once in the second epoch: with --max-restarts 1 the job restarts from
// the checkpoint of epoch 1 and ends bitwise as an uninterrupted run; with 0 it fails.
class RestartTest : public GracefulStopTest {
 protected:
  // The failure waits for epoch 1's checkpoint to be on disk (its files are written in the
  // background), so the restart point does not depend on timing.
  SimulationOptions FailingOnce(const config::JobConfig& job) {
    SimulationOptions options = Options(job);
    const std::string dir = job.checkpoint().dir();
    options.after_batch = [this, dir](int, int64_t step) {
      if (step == kStepInSecondEpoch && !failed_.exchange(true)) {
        for (int i = 0; i < 1000 && !dir.empty(); ++i) {
          if (checkpoint::LatestValidCheckpoint(dir).ok()) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return Status::IoError("injected failure at step 500");
      }
      return Status::OK();
    };
    return options;
  }
  std::atomic<bool> failed_{false};
};

TEST_F(RestartTest, ARestartedRunEndsBitwiseAsAnUninterruptedOne) {
  config::JobConfig job = FourEpochJob(1);
  Result<SimulationResult> straight = RunSimulation(Options(job));
  ASSERT_TRUE(straight.ok()) << straight.status().message();

  job.mutable_checkpoint()->set_dir(CheckpointDir());
  job.mutable_checkpoint()->set_every_epochs(1);
  Result<train::RunReport> report = train::RunReport::Open((root_ / "out").string(), "");
  ASSERT_TRUE(report.ok()) << report.status().message();
  SimulationOptions options = FailingOnce(job);
  options.report = &*report;
  std::ostringstream log;
  Result<RestartedSimulation> run = RunSimulationWithRestarts(options, 1, log);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->restarts, 1);
  EXPECT_NE(log.str().find("restart 1 of 1 after: "), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("injected failure at step 500"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("step-000000000422"), std::string::npos) << log.str();
  ExpectSameEpochs(std::span(straight->history).subspan(1), run->result.history);
  std::printf("1 worker BSP, 4 epochs: test RMSE %.17g uninterrupted, %.17g restarted once\n",
              straight->history.back().test_rmse, run->result.history.back().test_rmse);

  // metrics.jsonl: epoch 1 before the failure, epochs 2..4 after it, marked as restarted.
  std::ifstream metrics(root_ / "out" / "metrics.jsonl");
  std::vector<Json> lines;
  for (std::string line; std::getline(metrics, line);) lines.push_back(Json::parse(line));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_FALSE(lines[0].contains("restarts"));
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(lines[i]["restarts"], 1) << i;
  std::ifstream summary_file(root_ / "out" / "summary.json");
  const Json summary = Json::parse(summary_file);
  EXPECT_EQ(summary["restarts"], 1);
}

TEST_F(RestartTest, WithoutRestartsTheFailureEndsTheJob) {
  config::JobConfig job = FourEpochJob(1);
  job.mutable_checkpoint()->set_dir(CheckpointDir());
  job.mutable_checkpoint()->set_every_epochs(1);
  std::ostringstream log;
  Result<RestartedSimulation> run = RunSimulationWithRestarts(FailingOnce(job), 0, log);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("injected failure"), std::string::npos)
      << run.status().message();
  EXPECT_EQ(log.str(), "");
}

// No checkpoint.dir: the restart starts the job again from the beginning, and says so.
TEST_F(RestartTest, WithoutCheckpointsTheRestartStartsOver) {
  config::JobConfig job = FourEpochJob(1);
  job.mutable_training()->set_epochs(2);
  Result<SimulationResult> straight = RunSimulation(Options(job));
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  std::ostringstream log;
  Result<RestartedSimulation> run = RunSimulationWithRestarts(FailingOnce(job), 2, log);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->restarts, 1);
  EXPECT_NE(log.str().find("from the start (no checkpoint)"), std::string::npos) << log.str();
  ExpectSameEpochs(straight->history, run->result.history);
}

// `psrec sim --inject-crash ROLE:I:step=N` (scripts/killtest.sh): a server stopped abruptly
// after worker 0's batch N, or a worker failed at its batch N, is restarted; the moment is the
// step, so the test does not depend on the machine's speed.
TEST_F(RestartTest, AStepTimedInjectedCrashFiresOnceAndIsRestarted) {
  config::JobConfig job = FourEpochJob(1);
  job.mutable_training()->set_epochs(2);
  Result<SimulationResult> straight = RunSimulation(Options(job));
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  for (const bool server : {true, false}) {
    SimulationOptions options = Options(job);
    SimulationOptions::InjectedCrash crash;
    crash.server = server;
    crash.at_step = kStepInSecondEpoch;
    options.crash = crash;
    std::ostringstream log;
    Result<RestartedSimulation> run = RunSimulationWithRestarts(options, 1, log);
    ASSERT_TRUE(run.ok()) << run.status().message();
    EXPECT_TRUE(options.crash->fired->load()) << server;
    EXPECT_EQ(run->restarts, 1) << log.str();
    ExpectSameEpochs(straight->history, run->result.history);
  }
}

}  // namespace
}  // namespace psrec::cli
