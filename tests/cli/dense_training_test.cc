// Dense tables end to end (models::KeyedBy::kDense): the weighted-dot model (w and b in a
// dense table of 4-float blocks, so they spread over every server) trained by servers and
// workers as threads over loopback, in both update modes; determinism over the server count;
// checkpoints that hold the dense blocks and resume onto another server count bit for bit;
// `psrec ckpt show/export` on them.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_catalog.h"
#include "cli/commands.h"
#include "cli/npy_file.h"
#include "cli/simulation.h"
#include "models/model_tables.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// SmallJob's data with the weighted-dot model: AdaGrad on the dense table (its state must
// ride along with the blocks), SGD on the embeddings.
config::JobConfig DenseJob(int servers, int workers, config::UpdateMode mode) {
  config::JobConfig job = SmallJob(servers, workers);
  job.mutable_model()->set_type(config::ModelConfig::WEIGHTED_DOT);
  job.mutable_model()->set_init_std(0.3f);
  SetOptimizer(&job, config::OptimizerConfig::SGD, 0.03f, 0.97f);
  SetOptimizer(models::MutableTableConfig(&job, "dense"), config::OptimizerConfig::ADAGRAD,
               0.05f, 1.0f);
  job.mutable_training()->set_update_mode(mode);
  job.mutable_training()->set_epochs(6);
  if (mode == config::DELTAS) job.mutable_training()->set_batch_size(512);
  return job;
}

class DenseTrainingTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("psrec_dense_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  Result<SimulationResult> Run(config::JobConfig job, const std::string& resume_from = "") {
    SimulationOptions options;
    options.job = std::move(job);
    options.print_epochs = false;
    options.resume_from = resume_from;
    return RunSimulation(options);
  }

  fs::path root_;
};

TEST_F(DenseTrainingTest, BothUpdateModesLearnTheDenseWeights) {
  for (auto mode : {config::GRADIENTS, config::DELTAS}) {
    SCOPED_TRACE(config::UpdateMode_Name(mode));
    Result<SimulationResult> result = Run(DenseJob(2, 2, mode));
    ASSERT_TRUE(result.ok()) << result.status().message();
    const auto& h = result->history;
    ASSERT_EQ(h.size(), 6u);
    for (const train::EpochMetrics& m : h) {
      std::printf("%s epoch %d: train loss %.4f, test RMSE %.4f\n",
                  config::UpdateMode_Name(mode).c_str(), m.epoch, m.train_loss, m.test_rmse);
    }
    // The mean alone scores ~0.73; biases and the weighted products get to ~0.615 in 6
    // epochs (the three-way products start near a saddle and move slowly).
    EXPECT_LT(h.back().test_rmse, 0.63);
    EXPECT_LT(h.back().test_rmse, h.front().test_rmse);
  }
}

TEST_F(DenseTrainingTest, OneWorkerBspIsIndependentOfTheNumberOfServers) {
  for (auto mode : {config::GRADIENTS, config::DELTAS}) {
    SCOPED_TRACE(config::UpdateMode_Name(mode));
    config::JobConfig one = DenseJob(1, 1, mode);
    one.mutable_training()->set_consistency(config::BSP);
    one.mutable_training()->set_epochs(3);
    config::JobConfig three = one;
    three.mutable_cluster()->set_servers(3);
    Result<SimulationResult> a = Run(one);
    Result<SimulationResult> b = Run(three);
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok()) << b.status().message();
    ExpectSameEpochs(a->history, b->history);
  }
}

// DELTAS pulled ahead: the next batch's dense blocks, pulled before this batch's changes
// were pushed, get them added (every block is shared); with one worker that is bit for bit
// what pulling after the push gives.
TEST_F(DenseTrainingTest, PullingAheadCarriesTheDenseChanges) {
  config::JobConfig after_push = DenseJob(2, 1, config::DELTAS);
  after_push.mutable_training()->set_consistency(config::BSP);
  after_push.mutable_training()->set_epochs(3);
  config::JobConfig ahead = after_push;
  ahead.mutable_training()->set_consistency(config::ASP);
  ahead.mutable_training()->set_pull_ahead(config::TrainingConfig::ALWAYS);
  Result<SimulationResult> a = Run(after_push);
  Result<SimulationResult> b = Run(ahead);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ExpectSameEpochs(a->history, b->history);
}

TEST_F(DenseTrainingTest, ResumeOntoAnotherServerCountContinuesBitwise) {
  for (auto mode : {config::GRADIENTS, config::DELTAS}) {
    SCOPED_TRACE(config::UpdateMode_Name(mode));
    const std::string dir = (root_ / config::UpdateMode_Name(mode)).string();
    config::JobConfig job = DenseJob(2, 1, mode);
    job.mutable_training()->set_consistency(config::BSP);
    job.mutable_training()->set_epochs(4);
    Result<SimulationResult> straight = Run(job);
    ASSERT_TRUE(straight.ok()) << straight.status().message();
    job.mutable_checkpoint()->set_dir(dir);
    job.mutable_checkpoint()->set_every_epochs(1);
    job.mutable_training()->set_epochs(2);
    ASSERT_TRUE(Run(job).ok());
    Result<std::string> latest = checkpoint::LatestValidCheckpoint(dir);
    ASSERT_TRUE(latest.ok()) << latest.status().message();
    job.mutable_training()->set_epochs(4);
    job.mutable_cluster()->set_servers(3);
    Result<SimulationResult> resumed = Run(job, *latest);
    ASSERT_TRUE(resumed.ok()) << resumed.status().message();
    ExpectSameEpochs(std::span(straight->history).subspan(2), resumed->history);
  }
}

struct ToolRun {
  int code;
  std::string out, err;
};
ToolRun Ckpt(std::vector<std::string> args) {
  args.insert(args.begin(), "ckpt");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = RunCkptCommand(static_cast<int>(argv.size()), argv.data());
  return {code, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
}

TEST_F(DenseTrainingTest, CheckpointToolsShowAndExportTheDenseParameters) {
  const std::string dir = (root_ / "ckpt").string();
  config::JobConfig job = DenseJob(3, 1, config::GRADIENTS);
  job.mutable_training()->set_epochs(1);
  job.mutable_checkpoint()->set_dir(dir);
  job.mutable_checkpoint()->set_every_epochs(1);
  ASSERT_TRUE(Run(job).ok());
  Result<std::string> latest = checkpoint::LatestValidCheckpoint(dir);
  ASSERT_TRUE(latest.ok()) << latest.status().message();

  ToolRun show = Ckpt({"show", *latest, "--table", "dense"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("dense: dense, 9 floats in 3 blocks of 4\n"));
  EXPECT_THAT(show.out, HasSubstr("  weight (1x8, L2 "));
  EXPECT_THAT(show.out, HasSubstr("  bias (1x1, L2 "));
  ToolRun json = Ckpt({"show", *latest, "--table", "dense", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"name\":\"weight\",\"shape\":[1,8],\"offset\":0"));
  // A table keyed by id still needs --id.
  EXPECT_EQ(Ckpt({"show", *latest, "--table", "item"}).code, 2);

  const std::string out = (root_ / "npy").string();
  ToolRun exported = Ckpt({"export", *latest, "--table", "dense", "--out", out});
  ASSERT_EQ(exported.code, 0) << exported.err;
  Result<NpyFloatArray> weight = ReadNpyFloat32(out + "/weight.npy");
  Result<NpyFloatArray> bias = ReadNpyFloat32(out + "/bias.npy");
  ASSERT_TRUE(weight.ok()) << weight.status().message();
  ASSERT_TRUE(bias.ok()) << bias.status().message();
  EXPECT_EQ(weight->shape, (std::vector<size_t>{1, 8}));
  EXPECT_EQ(bias->shape, (std::vector<size_t>{1, 1}));
  // The values `show --json` prints (6 digits) are the exported ones; the bias moved from 0.
  EXPECT_NE(bias->values[0], 0.0f);
  char first[32];
  std::snprintf(first, sizeof(first), "\"values\":[%.6g", weight->values[0]);
  EXPECT_THAT(json.out, HasSubstr(first));
  EXPECT_EQ(Ckpt({"export", *latest, "--table", "dense", "--format", "csv", "--out", out}).code,
            2);
}

TEST_F(DenseTrainingTest, FederatedRoundsRefuseDenseTables) {
  config::JobConfig job = DenseJob(1, 1, config::FEDERATED);
  models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
  Result<SimulationResult> result = Run(job);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(),
              HasSubstr("training.update_mode: FEDERATED does not train dense tables"));
}

}  // namespace
}  // namespace psrec::cli
