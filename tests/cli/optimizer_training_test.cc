// Adam and FTRL end to end: SmallJob trained with each, under both update modes (servers
// step pushed gradients; workers step pulled copies and LOCAL rows and push changes with the
// optimizer state). Servers and workers as threads over loopback.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "common/config.h"
#include "models/model_tables.h"
#include "cli/simulation.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

TEST(OptimizerTrainingTest, AdamAndFtrlTrainUnderBothUpdateModes) {
  struct Case {
    config::OptimizerConfig::Kind kind;
    float rate;
  };
  for (const Case c : {Case{config::OptimizerConfig::ADAM, 0.01f},
                       Case{config::OptimizerConfig::FTRL, 0.1f}}) {
    for (const auto mode : {config::GRADIENTS, config::DELTAS}) {
      config::JobConfig job = SmallJob(2, 2);
      job.mutable_training()->set_consistency(config::BSP);
      job.mutable_training()->set_update_mode(mode);
      SetOptimizer(&job, c.kind, c.rate, 1.0f);
      if (mode == config::DELTAS) {
        job.mutable_training()->set_batch_size(512);
        models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
      }
      const std::string what = std::string(config::OptimizerConfig::Kind_Name(c.kind)) + " " +
                               config::UpdateMode_Name(mode);
      Result<SimulationResult> result = RunJob(job);
      ASSERT_TRUE(result.ok()) << what << ": " << result.status().message();
      const auto& h = result->history;
      ASSERT_EQ(h.size(), 12u) << what;
      std::printf("%s: test RMSE %.4f after epoch 1, %.4f after 12\n", what.c_str(),
                  h.front().test_rmse, h.back().test_rmse);
      EXPECT_LT(h.back().test_rmse, h.front().test_rmse) << what;
      EXPECT_LT(h.back().train_loss, h.front().train_loss) << what;
      // Noise std 0.3: a rank-4 model with 36 ratings per user gets well under 0.5.
      EXPECT_LT(h.back().test_rmse, 0.5) << what;
    }
  }
}

}  // namespace
}  // namespace psrec::cli
