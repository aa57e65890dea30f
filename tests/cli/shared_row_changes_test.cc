// training.shared_row_changes end to end: W workers changing the same item rows in one clock
// must train like one worker at equal epochs. Large DELTAS batches move a popular item most
// of the way to its batch optimum, so W workers' changes added up overshoot about W times.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "tests/cli/small_job.h"
#include "train/shared_row_changes.h"

namespace psrec::cli {
namespace {

// 54k training ratings in batches of 8192: every item is in every batch many times.
config::JobConfig LargeBatchDeltas(int workers, config::Consistency consistency) {
  config::JobConfig job = SmallJob(2, workers);
  SetOptimizer(&job, config::OptimizerConfig::SGD, 0.03f, 0.95f);
  job.mutable_training()->set_epochs(8);
  job.mutable_training()->set_batch_size(8192);
  job.mutable_training()->set_update_mode(config::DELTAS);
  job.mutable_training()->set_consistency(consistency);
  return job;
}

double FinalTestRmse(const config::JobConfig& job) {
  Result<SimulationResult> result = RunJob(job);
  if (!result.ok() || result->history.empty()) return NAN;
  return result->history.back().test_rmse;
}

TEST(SharedRowChangesTest, FourWorkersTrainWhereSummedChangesDoNot) {
  for (auto consistency : {config::ASP, config::BSP}) {
    const double one = FinalTestRmse(LargeBatchDeltas(1, consistency));
    config::JobConfig four = LargeBatchDeltas(4, consistency);
    const double scaled = FinalTestRmse(four);
    four.mutable_training()->set_shared_row_changes(config::TrainingConfig::SUM);
    const double summed = FinalTestRmse(four);
    std::printf("%s: 1 worker %.4f, 4 workers scaled %.4f, summed %.4f\n",
                config::Consistency_Name(consistency).c_str(), one, scaled, summed);
    // 8 epochs of 2 batches per worker are early in training: scaled changes trail one worker
    // here (0.55 vs 0.47 when measured) but train; the 0.01 goal holds on the larger sets of
    // docs/training.md ("Several workers").
    EXPECT_LT(scaled, one + 0.12) << config::Consistency_Name(consistency);
    // The failure the rule fixes: summed changes end clearly worse (or diverge). Checked
    // under BSP only: under ASP how many workers' changes to a row overlap depends on thread
    // timing, and on a loaded machine the summed run ranged from 0.467 to nan.
    if (consistency == config::BSP) {
      EXPECT_FALSE(summed < one + 0.03) << config::Consistency_Name(consistency);
    }
  }
}

// With one worker the rule scales nothing: the same bits as SUM.
TEST(SharedRowChangesTest, OneWorkerIsUnchanged) {
  config::JobConfig average = LargeBatchDeltas(1, config::BSP);
  config::JobConfig sum = average;
  sum.mutable_training()->set_shared_row_changes(config::TrainingConfig::SUM);
  for (auto mode : {config::DELTAS, config::GRADIENTS}) {
    average.mutable_training()->set_update_mode(mode);
    sum.mutable_training()->set_update_mode(mode);
    average.mutable_training()->set_batch_size(mode == config::DELTAS ? 8192 : 128);
    sum.mutable_training()->set_batch_size(mode == config::DELTAS ? 8192 : 128);
    Result<SimulationResult> a = RunJob(average);
    Result<SimulationResult> b = RunJob(sum);
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok()) << b.status().message();
    ExpectSameEpochs(a->history, b->history);
  }
}

constexpr auto kAverage = config::TrainingConfig::AVERAGE_BY_EXPECTED_WRITERS;
constexpr auto kSequential = config::TrainingConfig::SEQUENTIAL_EQUIVALENT;

TEST(SharedRowScalerTest, AveragingDividesByTheExpectedWriters) {
  using train::SharedRowScaler;
  EXPECT_EQ(SharedRowScaler::ScaleFor(kAverage, 0, 8, 0.1f), 1.0f);
  // One example: each of the 7 others holds the row with probability 1 - 1/e.
  EXPECT_NEAR(SharedRowScaler::ScaleFor(kAverage, 1, 8, 0.1f),
              1.0 / (1.0 + 7.0 * (1.0 - std::exp(-1.0))), 1e-6);
  EXPECT_NEAR(SharedRowScaler::ScaleFor(kAverage, 40, 8, 0.1f), 1.0 / 8.0, 1e-6);
  EXPECT_EQ(SharedRowScaler::ScaleFor(kAverage, 40, 1, 0.1f), 1.0f);
}

TEST(SharedRowScalerTest, SequentialEquivalentKeepsSmallStepsAndAveragesLargeOnes) {
  using train::SharedRowScaler;
  EXPECT_EQ(SharedRowScaler::ScaleFor(kSequential, 0, 8, 0.1f), 1.0f);
  EXPECT_EQ(SharedRowScaler::ScaleFor(kSequential, 40, 1, 0.1f), 1.0f);
  EXPECT_EQ(SharedRowScaler::ScaleFor(kSequential, 40, 8, 0.0f), 1.0f);
  // Tiny steps add up like sequential ones: (almost) nothing scaled.
  EXPECT_NEAR(SharedRowScaler::ScaleFor(kSequential, 3, 8, 1e-6f), 1.0, 1e-4);
  // A batch that moves the row all the way: averaged over the 8 writers.
  EXPECT_NEAR(SharedRowScaler::ScaleFor(kSequential, 200, 8, 0.5f), 1.0 / 8.0, 1e-6);
  // In between: n scaled changes contract the row by c^n. m = 10, a = 0.05: c = e^-0.5.
  const double n = 1.0 + 7.0 * (1.0 - std::exp(-10.0));
  const double c = std::exp(-0.5);
  const double s = SharedRowScaler::ScaleFor(kSequential, 10, 8, 0.05f);
  EXPECT_NEAR(1.0 - n * s * (1.0 - c), std::pow(c, n), 1e-5);
}

TEST(SharedRowScalerTest, ScalesPayloadFloatsByEachRowsExampleCount) {
  train::SharedRowScaler scaler(kAverage, 4);
  ASSERT_TRUE(scaler.active());
  EXPECT_FALSE(train::SharedRowScaler(config::TrainingConfig::SUM, 4).active());
  EXPECT_FALSE(train::SharedRowScaler(kSequential, 1).active());
  // Three rows of 2 payload floats and 1 state float; row 0 read twice by items and once as a
  // negative, row 1 once, row 2 not at all.
  std::vector<float> values = {1, 1, 5, 1, 1, 5, 1, 1, 5};
  const std::vector<uint32_t> items = {0, 1, 0};
  const std::vector<uint32_t> negatives = {0};
  const float step = 0.1f;
  scaler.Scale({items, negatives}, 3, 3, 2, {&step, 1}, values);
  const float s3 = train::SharedRowScaler::ScaleFor(kAverage, 3, 4, step);
  const float s1 = train::SharedRowScaler::ScaleFor(kAverage, 1, 4, step);
  EXPECT_EQ(values, (std::vector<float>{s3, s3, 5, s1, s1, 5, 1, 1, 5}));
}

}  // namespace
}  // namespace psrec::cli
