// End-to-end training in one process: servers and workers as threads over loopback TCP,
// the code `psrec train` runs under MPI.
#include "cli/simulation.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/config.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

TEST(SimulationTest, AsyncTrainingConvergesTowardTheNoiseFloor) {
  Result<SimulationResult> result = RunJob(SmallJob(2, 2));
  ASSERT_TRUE(result.ok()) << result.status().message();
  const auto& h = result->history;
  ASSERT_EQ(h.size(), 12u);
  EXPECT_LT(h.back().test_rmse, h.front().test_rmse);
  // Noise std 0.3; a rank-4 model with 36 ratings per user gets well under 0.5.
  EXPECT_LT(h.back().test_rmse, 0.5);
  EXPECT_GT(h.back().bytes_sent, 0);
  EXPECT_GT(h.back().bytes_received, 0);
  EXPECT_GT(h.back().ratings_per_sec, 0);
}

TEST(SimulationTest, EveryConsistencyModelAndPlacementTrains) {
  for (auto consistency : {config::ASP, config::SSP, config::BSP}) {
    for (auto placement : {config::TableConfig::REMOTE, config::TableConfig::LOCAL}) {
      config::JobConfig job = SmallJob(2, 3);
      job.mutable_training()->set_consistency(consistency);
      job.mutable_training()->set_staleness(1);
      job.mutable_training()->set_epochs(4);
      models::MutableTableConfig(&job, "user")->set_placement(placement);
      Result<SimulationResult> result = RunJob(job);
      ASSERT_TRUE(result.ok()) << result.status().message();
      const auto& h = result->history;
      ASSERT_EQ(h.size(), 4u);
      EXPECT_LT(h.back().test_rmse, h.front().test_rmse)
          << config::Consistency_Name(consistency) << " placement " << placement;
      if (consistency == config::BSP) {
        EXPECT_EQ(h.back().max_staleness, 0);
      }
      if (consistency == config::SSP) {
        EXPECT_LE(h.back().max_staleness, 1);
      }
    }
  }
}

TEST(SimulationTest, OneWorkerBspIsIndependentOfTheNumberOfServers) {
  config::JobConfig one = SmallJob(1, 1);
  one.mutable_training()->set_consistency(config::BSP);
  one.mutable_training()->set_epochs(4);
  config::JobConfig three = one;
  three.mutable_cluster()->set_servers(3);
  Result<SimulationResult> a = RunJob(one);
  Result<SimulationResult> b = RunJob(three);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(a->history.size(), b->history.size());
  for (size_t e = 0; e < a->history.size(); ++e) {
    EXPECT_NEAR(a->history[e].test_rmse, b->history[e].test_rmse, 1e-6) << "epoch " << e + 1;
    EXPECT_NEAR(a->history[e].train_loss, b->history[e].train_loss, 1e-6) << "epoch " << e + 1;
  }
}

TEST(SimulationTest, TwoRunsWithOneSeedGiveIdenticalMetrics) {
  config::JobConfig job = SmallJob(2, 1);
  job.mutable_training()->set_epochs(3);
  Result<SimulationResult> a = RunJob(job);
  Result<SimulationResult> b = RunJob(job);
  ASSERT_TRUE(a.ok() && b.ok());
  ExpectSameEpochs(a->history, b->history);
}

// Under BSP a server applies a clock's pushes in worker order once every worker has finished
// the clock, so arrival order does not matter: a run where worker 1 is a 3x straggler behind
// 200 us links, which reorders every push, gives the same bits as a plain run. AdaGrad makes
// the order visible (its step depends on the accumulator the earlier gradients left), and
// so would a row's place in the server's arena if the optimizer's sqrt depended on it.
TEST(SimulationTest, TwoWorkerBspRunsAreRepeatableWhateverTheTiming) {
  for (const auto mode : {config::GRADIENTS, config::DELTAS}) {
    SCOPED_TRACE(config::UpdateMode_Name(mode));
    config::JobConfig job = SmallJob(2, 2);
    SetOptimizer(&job, config::OptimizerConfig::ADAGRAD, 0.1f, 1.0f);
    job.mutable_training()->set_consistency(config::BSP);
    job.mutable_training()->set_update_mode(mode);
    job.mutable_training()->set_epochs(3);
    // 214 batches per epoch: with 3 per clock the epoch's last clock is a short one.
    if (mode == config::GRADIENTS) job.mutable_training()->set_clock_every(3);
    Result<SimulationResult> plain = RunJob(job);
    job.mutable_simulation()->set_straggler_worker(1);
    job.mutable_simulation()->set_straggler_factor(3);
    job.mutable_simulation()->set_latency_us(200);
    Result<SimulationResult> perturbed = RunJob(job);
    ASSERT_TRUE(plain.ok()) << plain.status().message();
    ASSERT_TRUE(perturbed.ok()) << perturbed.status().message();
    ExpectSameEpochs(plain->history, perturbed->history);
    EXPECT_LT(plain->history.back().test_rmse, plain->history.front().test_rmse);
  }
}

TEST(SimulationTest, AWorkerThatCannotLoadItsDataFailsTheJobPromptly) {
  config::JobConfig job = SmallJob(2, 2);
  job.mutable_data()->clear_synthetic();
  job.mutable_data()->set_train_path("/nonexistent/ratings.tsv");
  job.mutable_data()->set_format(config::LIBMF);
  job.mutable_data()->mutable_split()->set_kind(config::SplitConfig::RANDOM);
  Result<SimulationResult> result = RunJob(job);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("/nonexistent/ratings.tsv"), std::string::npos)
      << result.status().message();
}

TEST(SimulationTest, DivergenceStopsTheJobWithAClearError) {
  config::JobConfig job = SmallJob(1, 2);
  models::MutableTableConfig(&job, "item")->mutable_optimizer()->set_learning_rate(50);
  Result<SimulationResult> result = RunJob(job);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("diverged in epoch 1"), std::string::npos)
      << result.status().message();
}

// Issue #3 acceptance: ML-100K u1, 2 servers x 2 workers, default consistency, the fixed
// epoch count of configs/ml100k_u1.textproto.
TEST(SimulationTest, MovieLens100kU1ReachesTheReferenceRmse) {
  const std::string dir = PSREC_ML100K_DIR;
  if (!std::filesystem::exists(dir + "/u1.base")) GTEST_SKIP() << dir << " not present";
  Result<config::JobConfig> job =
      LoadJobConfig(PSREC_SOURCE_DIR "/configs/ml100k_u1.textproto",
                    {"data.train_path=" + dir + "/u1.base", "data.test_path=" + dir + "/u1.test",
                     "cluster.servers=2", "cluster.workers=2", "output.progress=OFF"});
  ASSERT_TRUE(job.ok()) << job.status().message();
  Result<SimulationResult> result = RunJob(*job);
  ASSERT_TRUE(result.ok()) << result.status().message();
  std::printf("ML-100K u1 test RMSE after %zu epochs: %.4f\n", result->history.size(),
              result->history.back().test_rmse);
  EXPECT_LE(result->history.back().test_rmse, 0.917);
}

}  // namespace
}  // namespace psrec::cli
