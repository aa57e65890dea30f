// BPR-MF and logistic MF end to end (psrec sim: servers and workers as threads): on planted
// implicit data (synthetic ratings, positives = ratings above the mean + 1, so a user's
// positives are the items its planted factors favour), a trained model must rank held-out
// positives above random catalogue items: pairwise AUC from Model::Score on the checkpoint's
// rows, under both update modes, with 1 and 2 workers, LOCAL and REMOTE users.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_reader.h"
#include "cli/simulation.h"
#include "common/config.h"
#include "data/synthetic.h"
#include "models/model_tables.h"
#include "models/registry.h"

namespace psrec::cli {
namespace {

constexpr float kThreshold = 4.5f;  // global mean 3.5 + 1

config::JobConfig ImplicitJob(config::ModelConfig::Type type, config::UpdateMode mode,
                              int workers, bool local_users, const std::string& ckpt) {
  Result<config::JobConfig> job = ParseJobConfig(R"pb(
    data {
      synthetic {
        num_users: 1000 num_items: 300 rank: 4 factor_std: 0.8 bias_std: 0 noise_std: 0.2
        zipf_exponent: 0 ratings_per_user: 60 test_fraction: 0.2 seed: 21
      }
      implicit { positive_threshold: 4.5 negatives_per_positive: 2 }
    }
    model { dim: 8 l2_factors: 0.03 l2_bias: 0.001 init_std: 0.1 }
    training { epochs: 30 batch_size: 128 pipeline_depth: 2 seed: 3 }
    checkpoint { every_epochs: 0 keep_last: 1 }
    output { progress: OFF }
  )pb", "implicit-job", {});
  EXPECT_TRUE(job.ok()) << job.status().message();
  job->mutable_model()->set_type(type);
  job->mutable_training()->set_update_mode(mode);
  job->mutable_cluster()->set_servers(2);
  job->mutable_cluster()->set_workers(workers);
  job->mutable_checkpoint()->set_dir(ckpt);
  const float rate = 0.08f;
  for (const char* name : {"user", "item"}) {
    config::TableConfig* table = models::MutableTableConfig(&*job, name);
    table->mutable_optimizer()->set_kind(config::OptimizerConfig::SGD);
    table->mutable_optimizer()->set_learning_rate(rate);
  }
  if (local_users) {
    models::MutableTableConfig(&*job, "user")->set_placement(config::TableConfig::LOCAL);
  }
  return *job;
}

using Rows = std::map<uint64_t, std::vector<float>>;

Result<Rows> ReadRows(const checkpoint::LoadedCheckpoint& ckpt, TableId table, int floats) {
  Rows rows;
  RETURN_IF_ERROR(checkpoint::ForEachCheckpointRow(
      ckpt, table, [&](uint64_t key, const float* payload, const float*) {
        rows[key].assign(payload, payload + floats);
      }));
  return rows;
}

// P(score(u, held-out positive) > score(u, random item)), ties half, over every test
// positive of the planted data against 20 random items each.
Result<double> HeldOutAuc(const config::JobConfig& job, const std::string& ckpt_root) {
  ASSIGN_OR_RETURN(std::string latest, checkpoint::LatestValidCheckpoint(ckpt_root));
  ASSIGN_OR_RETURN(checkpoint::LoadedCheckpoint ckpt, checkpoint::ReadCheckpoint(latest));
  ASSIGN_OR_RETURN(models::JobModel jm, models::ModelForJob(job));
  const models::Model& model = *jm.model;
  const int user_floats = model.tables()[0].payload_floats;
  const int item_floats = model.tables()[1].payload_floats;
  ASSIGN_OR_RETURN(Rows users, ReadRows(ckpt, 0, user_floats));
  ASSIGN_OR_RETURN(Rows items, ReadRows(ckpt, 1, item_floats));
  std::vector<float> cold_user(user_floats), cold_item(item_floats);
  model.ColdStartRow(0, cold_user.data());
  model.ColdStartRow(1, cold_item.data());
  auto row = [](const Rows& rows, uint64_t key, const std::vector<float>& cold) {
    auto it = rows.find(key);
    return it == rows.end() ? cold.data() : it->second.data();
  };
  ASSIGN_OR_RETURN(data::SyntheticData data,
                   data::GenerateSynthetic(job.data().synthetic(), /*keep_truth=*/true));
  const data::SyntheticTruth& truth = data.truth;
  auto planted = [&truth](uint64_t user, uint64_t item) {
    float dot = 0;
    for (int f = 0; f < truth.rank; ++f) {
      dot += truth.user_factors[user * truth.rank + f] * truth.item_factors[item * truth.rank + f];
    }
    return dot;
  };
  const data::RatingColumns& test = data.test;
  std::mt19937 rng(17);
  std::uniform_int_distribution<uint64_t> random_item(0, job.data().synthetic().num_items() - 1);
  double wins = 0, planted_wins = 0, pairs = 0;
  for (size_t r = 0; r < test.size(); ++r) {
    if (test.rating[r] < kThreshold) continue;
    const uint64_t user = test.user_ids[test.user_index[r]];
    const uint64_t item = test.item_ids[test.item_index[r]];
    const float* u = row(users, user, cold_user);
    const float* pos_rows[2] = {u, row(items, item, cold_item)};
    const float pos = model.Score(pos_rows);
    for (int n = 0; n < 20; ++n) {
      const uint64_t other = random_item(rng);
      const float* neg_rows[2] = {u, row(items, other, cold_item)};
      const float neg = model.Score(neg_rows);
      wins += pos > neg ? 1.0 : (pos == neg ? 0.5 : 0.0);
      planted_wins += planted(user, item) > planted(user, other) ? 1.0 : 0.0;
      pairs += 1;
    }
  }
  if (pairs == 0) return Status::Internal("no held-out positives");
  // What the planted factors themselves score: the ceiling of any model.
  std::printf("  planted-factor AUC %.3f over %.0f pairs\n", planted_wins / pairs, pairs);
  return wins / pairs;
}

class ImplicitTrainingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("psrec_implicit_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string Ckpt(const std::string& name) const { return (root_ / name).string(); }
  std::filesystem::path root_;
};

void TrainsAndRanks(config::ModelConfig::Type type, const std::string& root) {
  for (config::UpdateMode mode : {config::GRADIENTS, config::DELTAS}) {
    for (int workers : {1, 2}) {
      // Every mode meets both placements: LOCAL users with one worker under GRADIENTS and
      // with two under DELTAS.
      const bool local = (mode == config::GRADIENTS) == (workers == 1);
      const std::string what = std::string(config::ModelConfig::Type_Name(type)) + " " +
                               config::UpdateMode_Name(mode) + " " + std::to_string(workers) +
                               (workers == 1 ? " worker " : " workers ") +
                               (local ? "LOCAL" : "REMOTE");
      const std::string ckpt = root + "/" + std::to_string(mode) + "_" + std::to_string(workers);
      const config::JobConfig job = ImplicitJob(type, mode, workers, local, ckpt);
      SimulationOptions options;
      options.job = job;
      options.print_epochs = false;
      Result<SimulationResult> result = RunSimulation(options);
      ASSERT_TRUE(result.ok()) << what << ": " << result.status().message();
      const auto& h = result->history;
      ASSERT_EQ(h.size(), 30u) << what;
      EXPECT_LT(h.back().train_loss, h.front().train_loss) << what;
      EXPECT_TRUE(std::isnan(h.back().test_rmse)) << what << ": no RMSE for a ranking model";
      Result<double> auc = HeldOutAuc(job, ckpt);
      ASSERT_TRUE(auc.ok()) << what << ": " << auc.status().message();
      std::printf("%s: train loss %.4f -> %.4f, held-out AUC %.3f\n", what.c_str(),
                  h.front().train_loss, h.back().train_loss, *auc);
      EXPECT_GT(*auc, 0.8) << what;
    }
  }
}

TEST_F(ImplicitTrainingTest, BprRanksHeldOutPositivesAboveRandomItems) {
  TrainsAndRanks(config::ModelConfig::BPR_MF, root_.string());
}

TEST_F(ImplicitTrainingTest, LogisticMfRanksHeldOutPositivesAboveRandomItems) {
  TrainsAndRanks(config::ModelConfig::LOGISTIC_MF, root_.string());
}

// One worker under BSP: the same losses bit for bit with 1 and 3 servers, and twice with
// one seed (negatives are drawn by (seed, worker, epoch, batch), never by timing).
TEST_F(ImplicitTrainingTest, OneWorkerBspRepeatsAndIsIndependentOfServers) {
  for (config::UpdateMode mode : {config::GRADIENTS, config::DELTAS}) {
    config::JobConfig one =
        ImplicitJob(config::ModelConfig::BPR_MF, mode, 1, false, Ckpt("a"));
    one.clear_checkpoint();
    one.mutable_cluster()->set_servers(1);
    one.mutable_training()->set_consistency(config::BSP);
    one.mutable_training()->set_pipeline_depth(1);
    one.mutable_training()->set_epochs(3);
    one.mutable_data()->mutable_implicit()->set_sampler(config::ImplicitConfig::POPULARITY);
    config::JobConfig three = one;
    three.mutable_cluster()->set_servers(3);
    SimulationOptions options;
    options.print_epochs = false;
    options.job = one;
    Result<SimulationResult> a = RunSimulation(options);
    Result<SimulationResult> again = RunSimulation(options);
    options.job = three;
    Result<SimulationResult> b = RunSimulation(options);
    ASSERT_TRUE(a.ok() && again.ok() && b.ok());
    ASSERT_EQ(a->history.size(), 3u);
    for (size_t e = 0; e < 3; ++e) {
      EXPECT_EQ(a->history[e].train_loss, again->history[e].train_loss) << "epoch " << e + 1;
      EXPECT_EQ(a->history[e].train_loss, b->history[e].train_loss) << "epoch " << e + 1;
    }
  }
}

TEST_F(ImplicitTrainingTest, NoPositiveAboveTheThresholdIsAClearError) {
  config::JobConfig job =
      ImplicitJob(config::ModelConfig::LOGISTIC_MF, config::DELTAS, 2, true, Ckpt("c"));
  job.clear_checkpoint();
  job.mutable_data()->mutable_implicit()->set_positive_threshold(1000);
  SimulationOptions options;
  options.job = job;
  options.print_epochs = false;
  Result<SimulationResult> result = RunSimulation(options);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("positive_threshold 1000"), std::string::npos)
      << result.status().message();
}

}  // namespace
}  // namespace psrec::cli
