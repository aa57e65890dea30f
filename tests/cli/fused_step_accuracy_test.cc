// The fused SGD step (models/mf/fused_sgd_step.h) trains biased MF as the unfused step does:
// ML-100K u1 with the settings of configs/ml100k_u1.textproto (its 40 epochs), worker-side
// steps (DELTAS) with LOCAL users, the fast path the kernel serves, at dim 64 (a dim the kernel
// is compiled for; the config's 100 runs the unfused step). One server, one worker: both runs
// are deterministic, and differ only by float rounding inside the step.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/simulation.h"
#include "common/config.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

Result<SimulationResult> RunU1(const std::string& dir, const std::string& kernel) {
  Result<config::JobConfig> job = LoadJobConfig(
      PSREC_SOURCE_DIR "/configs/ml100k_u1.textproto",
      {"data.train_path=" + dir + "/u1.base", "data.test_path=" + dir + "/u1.test",
       "cluster.servers=1", "cluster.workers=1", "output.progress=OFF", "model.dim=64",
       "model.step_kernel=" + kernel, "training.update_mode=DELTAS",
       "tables.user.placement=LOCAL"});
  if (!job.ok()) return job.status();
  return RunJob(*job);
}

TEST(FusedStepAccuracyTest, MovieLens100kU1RmseEqualsTheUnfusedStep) {
  const std::string dir = PSREC_ML100K_DIR;
  if (!std::filesystem::exists(dir + "/u1.base")) GTEST_SKIP() << dir << " not present";
  Result<SimulationResult> fused = RunU1(dir, "FUSED");
  ASSERT_TRUE(fused.ok()) << fused.status().message();
  Result<SimulationResult> unfused = RunU1(dir, "UNFUSED");
  ASSERT_TRUE(unfused.ok()) << unfused.status().message();
  ASSERT_EQ(fused->history.size(), 40u);
  ASSERT_EQ(unfused->history.size(), 40u);
  const double fused_rmse = fused->history.back().test_rmse;
  const double unfused_rmse = unfused->history.back().test_rmse;
  std::printf("ML-100K u1, DELTAS, LOCAL users, dim 64, 40 epochs: test RMSE fused %.5f, "
              "unfused %.5f\n", fused_rmse, unfused_rmse);
  // Rounding differences do not grow into a different model: every epoch's error agrees.
  for (size_t e = 0; e < fused->history.size(); ++e) {
    EXPECT_NEAR(fused->history[e].test_rmse, unfused->history[e].test_rmse, 1e-3)
        << "epoch " << e + 1;
  }
  // And it is a good model (the config's dim 100 reaches 0.917 with GRADIENTS).
  EXPECT_LE(fused_rmse, 0.93);
}

}  // namespace
}  // namespace psrec::cli
