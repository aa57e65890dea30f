// training.update_mode DELTAS end to end: workers step rows themselves and push changes
// (with AdaGrad state), servers add them. Servers and workers as threads over loopback.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/config.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "cli/simulation.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

// SmallJob with per-rating steps: smaller rates, larger batches, more epochs.
config::JobConfig DeltaJob(int servers, int workers) {
  config::JobConfig job = SmallJob(servers, workers);
  SetOptimizer(&job, config::OptimizerConfig::SGD, 0.03f, 0.97f);
  job.mutable_training()->set_epochs(14);
  job.mutable_training()->set_batch_size(512);
  job.mutable_training()->set_update_mode(config::DELTAS);
  return job;
}

TEST(UpdateModeTest, DeltasTrainUnderEveryConsistencyModelAndPlacement) {
  for (auto consistency : {config::ASP, config::SSP, config::BSP}) {
    for (auto placement : {config::TableConfig::REMOTE, config::TableConfig::LOCAL}) {
      config::JobConfig job = DeltaJob(2, 3);
      job.mutable_training()->set_consistency(consistency);
      job.mutable_training()->set_staleness(1);
      models::MutableTableConfig(&job, "user")->set_placement(placement);
      Result<SimulationResult> result = RunJob(job);
      ASSERT_TRUE(result.ok()) << result.status().message();
      const auto& h = result->history;
      ASSERT_EQ(h.size(), 14u);
      const std::string what = std::string(config::Consistency_Name(consistency)) +
                               (placement == config::TableConfig::LOCAL ? " LOCAL" : " REMOTE");
      // Noise std 0.3: a rank-4 model with 36 ratings per user gets well under 0.5.
      EXPECT_LT(h.back().test_rmse, 0.5) << what;
      std::printf("%s: test RMSE %.4f\n", what.c_str(), h.back().test_rmse);
      EXPECT_LT(h.back().test_rmse, h.front().test_rmse) << what;
      if (consistency == config::BSP) {
        EXPECT_EQ(h.back().max_staleness, 0) << what;
      }
      if (consistency == config::SSP) {
        EXPECT_LE(h.back().max_staleness, 1) << what;
      }
    }
  }
}

// One worker, one batch in flight: a REMOTE row pulled with its AdaGrad state, stepped by
// the worker and pushed back as a change must end where the same steps on a LOCAL row in
// place end (up to the rounding of base + (new - base)). A lost or misplaced state float
// changes every later step size and shows up at once.
TEST(UpdateModeTest, RemoteRowsWithStateTrainLikeLocalRows) {
  config::JobConfig local = DeltaJob(2, 1);
  local.mutable_training()->set_pipeline_depth(1);
  local.mutable_training()->set_epochs(4);
  SetOptimizer(&local, config::OptimizerConfig::ADAGRAD, 0.05f, 1.0f);
  models::MutableTableConfig(&local, "user")->set_placement(config::TableConfig::LOCAL);
  config::JobConfig remote = local;
  models::MutableTableConfig(&remote, "user")->set_placement(config::TableConfig::REMOTE);
  Result<SimulationResult> a = RunJob(local);
  Result<SimulationResult> b = RunJob(remote);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(a->history.size(), b->history.size());
  for (size_t e = 0; e < a->history.size(); ++e) {
    EXPECT_NEAR(a->history[e].test_rmse, b->history[e].test_rmse, 1e-4) << "epoch " << e + 1;
    EXPECT_NEAR(a->history[e].train_loss, b->history[e].train_loss, 1e-4) << "epoch " << e + 1;
  }
  EXPECT_LT(a->history.back().test_rmse, 0.5);
}

TEST(UpdateModeTest, OneWorkerIsIndependentOfTheNumberOfServers) {
  config::JobConfig one = DeltaJob(1, 1);
  one.mutable_training()->set_consistency(config::BSP);
  one.mutable_training()->set_pipeline_depth(1);
  one.mutable_training()->set_epochs(3);
  SetOptimizer(models::MutableTableConfig(&one, "item"), config::OptimizerConfig::ADAGRAD, 0.05f, 1.0f);
  config::JobConfig three = one;
  three.mutable_cluster()->set_servers(3);
  Result<SimulationResult> a = RunJob(one);
  Result<SimulationResult> b = RunJob(three);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ExpectSameEpochs(a->history, b->history);
}

// Under ASP a worker pulls batch b + 1 while batch b trains and then adds b's changes to the
// rows both batches hold; under BSP it pulls b + 1 after pushing b. With one worker both must
// give the same bits: a missed, doubled or misplaced change would show. Users in batch order
// (BY_USER) share rows across batch boundaries, items in every batch; AdaGrad state rides
// along with the rows.
TEST(UpdateModeTest, PullingAheadAndCarryingChangesEqualsPullingAfterThePush) {
  for (auto placement : {config::TableConfig::REMOTE, config::TableConfig::LOCAL}) {
    SCOPED_TRACE(placement == config::TableConfig::LOCAL ? "LOCAL users" : "REMOTE users");
    config::JobConfig after_push = DeltaJob(2, 1);
    after_push.mutable_training()->set_consistency(config::BSP);
    after_push.mutable_training()->set_rating_order(config::BY_USER);
    after_push.mutable_training()->set_epochs(3);
    models::MutableTableConfig(&after_push, "user")->set_placement(placement);
    SetOptimizer(&after_push, config::OptimizerConfig::ADAGRAD, 0.05f, 1.0f);
    config::JobConfig ahead = after_push;
    ahead.mutable_training()->set_consistency(config::ASP);
    ahead.mutable_training()->set_pull_ahead(config::TrainingConfig::ALWAYS);
    config::JobConfig async_after_push = ahead;
    async_after_push.mutable_training()->set_pull_ahead(config::TrainingConfig::NEVER);
    Result<SimulationResult> a = RunJob(after_push);
    ASSERT_TRUE(a.ok()) << a.status().message();
    for (const config::JobConfig& other : {ahead, async_after_push}) {
      Result<SimulationResult> b = RunJob(other);
      ASSERT_TRUE(b.ok()) << b.status().message();
      SCOPED_TRACE(config::TrainingConfig::PullAhead_Name(other.training().pull_ahead()));
      ExpectSameEpochs(a->history, b->history);
    }
  }
}

// Users in a random order, each with its ratings together: the locality trade that makes a
// user row one cache miss per batch; it must train about as well as a full shuffle.
TEST(UpdateModeTest, RatingsGroupedByUserTrainAboutAsWellAsShuffled) {
  config::JobConfig shuffled = DeltaJob(2, 2);
  config::JobConfig grouped = shuffled;
  grouped.mutable_training()->set_rating_order(config::BY_USER);
  models::MutableTableConfig(&grouped, "user")->set_placement(config::TableConfig::LOCAL);
  models::MutableTableConfig(&shuffled, "user")->set_placement(config::TableConfig::LOCAL);
  Result<SimulationResult> a = RunJob(shuffled);
  Result<SimulationResult> b = RunJob(grouped);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  std::printf("test RMSE: shuffled %.4f, by user %.4f\n", a->history.back().test_rmse,
              b->history.back().test_rmse);
  EXPECT_LT(b->history.back().test_rmse, 0.5);
  EXPECT_NEAR(b->history.back().test_rmse, a->history.back().test_rmse, 0.02);
}

// The point of the mode: one step per rating stays stable with a batch so large that every
// item occurs in it many times, where a summed gradient over the batch diverges.
TEST(UpdateModeTest, WholePartitionBatchesStayStableWhereSummedGradientsDiverge) {
  config::JobConfig deltas = DeltaJob(1, 2);
  deltas.mutable_training()->set_batch_size(30000);  // > each worker's ~27k ratings
  deltas.mutable_training()->set_epochs(10);
  models::MutableTableConfig(&deltas, "user")->mutable_optimizer()->set_learning_rate(0.05f);
  models::MutableTableConfig(&deltas, "item")->mutable_optimizer()->set_learning_rate(0.05f);
  Result<SimulationResult> stepped = RunJob(deltas);
  ASSERT_TRUE(stepped.ok()) << stepped.status().message();
  EXPECT_LT(stepped->history.back().test_rmse, 0.5);

  config::JobConfig gradients = deltas;
  gradients.mutable_training()->set_update_mode(config::GRADIENTS);
  Result<SimulationResult> summed = RunJob(gradients);
  ASSERT_FALSE(summed.ok());
  EXPECT_NE(summed.status().message().find("diverged"), std::string::npos)
      << summed.status().message();
}

}  // namespace
}  // namespace psrec::cli
