// The planted data set the end-to-end tests train on, and a quiet way to run a job on it.
#pragma once

#include <gtest/gtest.h>

#include <span>

#include "common/config.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "cli/simulation.h"

namespace psrec::cli {

// 1500 users x 300 items, rank 4, noise 0.3, 40 ratings per user (10% held out); a dim-8
// model, SGD at 0.03 (decay 0.95) on both tables, 12 epochs of 128-rating batches.
inline config::JobConfig SmallJob(int servers, int workers) {
  Result<config::JobConfig> job = ParseJobConfig(R"pb(
    data {
      synthetic {
        num_users: 1500 num_items: 300 rank: 4 factor_std: 0.5 noise_std: 0.3
        ratings_per_user: 40 test_fraction: 0.1 seed: 11
      }
    }
    model { dim: 8 l2_factors: 0.02 l2_bias: 0.005 init_std: 0.1 }
    tables { name: "user" optimizer { kind: SGD learning_rate: 0.03 lr_decay: 0.95 } }
    tables { name: "item" optimizer { kind: SGD learning_rate: 0.03 lr_decay: 0.95 } }
    training { epochs: 12 batch_size: 128 pipeline_depth: 2 seed: 5 eval_train_sample: 2000 }
    output { progress: OFF }
  )pb", "small-job", {});
  EXPECT_TRUE(job.ok()) << job.status().message();
  job->mutable_cluster()->set_servers(servers);
  job->mutable_cluster()->set_workers(workers);
  return *job;
}

// One table's optimizer, or both tables'.
inline void SetOptimizer(config::TableConfig* table, config::OptimizerConfig::Kind kind,
                         float rate, float decay) {
  table->mutable_optimizer()->set_kind(kind);
  table->mutable_optimizer()->set_learning_rate(rate);
  table->mutable_optimizer()->set_lr_decay(decay);
}
inline void SetOptimizer(config::JobConfig* job, config::OptimizerConfig::Kind kind, float rate,
                         float decay) {
  SetOptimizer(models::MutableTableConfig(job, "user"), kind, rate, decay);
  SetOptimizer(models::MutableTableConfig(job, "item"), kind, rate, decay);
}

// Each epoch's test RMSE and train loss are equal bit for bit; `expected` may be the tail of
// a longer run (the epochs a resumed run repeats).
inline void ExpectSameEpochs(std::span<const train::EpochMetrics> expected,
                             std::span<const train::EpochMetrics> actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].epoch, actual[i].epoch);
    EXPECT_EQ(expected[i].test_rmse, actual[i].test_rmse) << "epoch " << expected[i].epoch;
    EXPECT_EQ(expected[i].train_loss, actual[i].train_loss) << "epoch " << expected[i].epoch;
  }
}

inline Result<SimulationResult> RunJob(const config::JobConfig& job) {
  SimulationOptions options;
  options.job = job;
  options.print_epochs = false;
  return RunSimulation(options);
}

}  // namespace psrec::cli
