// BPR-MF and logistic MF under training.update_mode FEDERATED (train/federated_implicit.cc):
// clients train on their own positives with negatives they draw themselves. On planted
// implicit data the federated models rank held-out positives far above random (HR@10 among
// 99 drawn negatives; random is 0.10), with sync rounds, FedBuff, DP and secure aggregation;
// a 1-worker run repeats bit for bit whatever the server count; and a client's update
// depends on its own data only (every client's plain update is tapped in round 0 and
// compared across data sets that differ in other users' data).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "cli/simulation.h"
#include "common/config.h"
#include "models/model_tables.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

// 800 users x 200 items, rank 4; positives are ratings >= 4 (the items a user's planted
// factors favour), about 30 of each user's 100; each test positive is ranked among 99
// drawn negatives. q 0.3 (~240 clients a round), 5 local epochs.
config::JobConfig ImplicitFederatedJob(config::ModelConfig::Type type, int servers,
                                       int workers) {
  Result<config::JobConfig> job = ParseJobConfig(R"pb(
    data {
      synthetic {
        num_users: 800 num_items: 200 rank: 4 factor_std: 0.8 bias_std: 0 noise_std: 0.2
        zipf_exponent: 0 ratings_per_user: 100 test_fraction: 0.2 seed: 21
      }
      implicit { positive_threshold: 4 negatives_per_positive: 2 }
    }
    model { dim: 8 l2_factors: 0.01 l2_bias: 0.001 init_std: 0.1 }
    training {
      epochs: 20 seed: 3 update_mode: FEDERATED consistency: BSP
      federated { sampling_rate: 0.3 local_epochs: 5 client_lr: 0.3 server_lr: 3 }
    }
    evaluation { protocol: LEAVE_ONE_OUT k: 10 negatives: 99 }
    output { progress: OFF }
  )pb", "implicit-federated", {});
  EXPECT_TRUE(job.ok()) << job.status().message();
  job->mutable_model()->set_type(type);
  job->mutable_cluster()->set_servers(servers);
  job->mutable_cluster()->set_workers(workers);
  models::MutableTableConfig(&*job, "user")->set_placement(config::TableConfig::LOCAL);
  return *job;
}

double Named(const std::vector<std::pair<std::string, double>>& figures,
             const std::string& name) {
  for (const auto& [n, v] : figures) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no figure " << name;
  return 0;
}

double HitRate(const train::EpochMetrics& m) { return Named(m.ranking, "hr@10"); }

void ExpectLearns(const config::JobConfig& job, const char* what, double at_least) {
  Result<SimulationResult> run = RunJob(job);
  ASSERT_TRUE(run.ok()) << what << ": " << run.status().message();
  const auto& h = run->history;
  ASSERT_EQ(h.size(), static_cast<size_t>(job.training().epochs()));
  std::printf("%s: HR@10 round 1 %.4f, round %zu %.4f\n", what, HitRate(h.front()), h.size(),
              HitRate(h.back()));
  EXPECT_GT(HitRate(h.back()), at_least) << what;  // random: 0.10
  EXPECT_GT(HitRate(h.back()), HitRate(h.front()) + 0.1) << what;
}

TEST(FederatedImplicitTest, BprAndLogisticLearnInSyncRounds) {
  ExpectLearns(ImplicitFederatedJob(config::ModelConfig::BPR_MF, 2, 2), "BPR sync 2x2", 0.35);
  ExpectLearns(ImplicitFederatedJob(config::ModelConfig::LOGISTIC_MF, 2, 2),
               "logistic sync 2x2", 0.35);
}

// refit_epochs: before each evaluated round (eval_every 5) every client refits its user row
// against the current item rows, with fresh negatives of its own; the rounds in between
// report no ranking figures.
TEST(FederatedImplicitTest, RefitAndEvalEveryWorkForRankingModels) {
  config::JobConfig job = ImplicitFederatedJob(config::ModelConfig::BPR_MF, 1, 2);
  job.mutable_training()->mutable_federated()->set_refit_epochs(2);
  job.mutable_training()->mutable_federated()->set_eval_every(5);
  Result<SimulationResult> run = RunJob(job);
  ASSERT_TRUE(run.ok()) << run.status().message();
  const auto& h = run->history;
  ASSERT_EQ(h.size(), 20u);
  for (const train::EpochMetrics& m : h) {
    EXPECT_EQ(m.ranking.empty(), m.epoch % 5 != 0) << "round " << m.epoch;
  }
  std::printf("BPR refit 2, eval every 5: HR@10 round 5 %.4f, round 20 %.4f\n", HitRate(h[4]),
              HitRate(h.back()));
  EXPECT_GT(HitRate(h.back()), 0.35);
}

// DP-FedAvg (every update clipped to S 1, noise z 0.3 on each round's sum over every item
// row, fixed denominator) with secure aggregation; q 0.1 keeps the O(n^2) masking short.
TEST(FederatedImplicitTest, BprLearnsWithDpAndSecureAggregation) {
  config::JobConfig job = ImplicitFederatedJob(config::ModelConfig::BPR_MF, 2, 2);
  job.mutable_training()->set_epochs(30);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->set_sampling_rate(0.1);
  f->set_secure_aggregation(true);
  f->set_clip_norm(1.0);
  f->set_noise_multiplier(0.3);
  ExpectLearns(job, "BPR sync, DP + secure aggregation", 0.25);
}

// FedBuff: 120 clients in flight, steps of 60 updates; then with DP and secure aggregation
// (each step's arrivals on a worker mask among each other).
TEST(FederatedImplicitTest, BprLearnsBuffered) {
  config::JobConfig job = ImplicitFederatedJob(config::ModelConfig::BPR_MF, 2, 2);
  job.mutable_training()->set_epochs(40);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->mutable_buffered()->set_buffer_size(60);
  f->mutable_buffered()->set_concurrency(120);
  f->mutable_client_compute()->set_speed_spread(0.5);
  ExpectLearns(job, "BPR buffered", 0.3);
  f->set_secure_aggregation(true);
  f->set_clip_norm(1.0);
  f->set_noise_multiplier(0.3);
  ExpectLearns(job, "BPR buffered, DP + secure aggregation", 0.2);
}

TEST(FederatedImplicitTest, OneWorkerRepeatsBitForBitWhateverTheServerCount) {
  for (auto type : {config::ModelConfig::BPR_MF, config::ModelConfig::LOGISTIC_MF}) {
    config::JobConfig job = ImplicitFederatedJob(type, 1, 1);
    job.mutable_training()->set_epochs(4);
    config::JobConfig three = ImplicitFederatedJob(type, 3, 1);
    three.mutable_training()->set_epochs(4);
    Result<SimulationResult> a = RunJob(job), b = RunJob(job), c = RunJob(three);
    ASSERT_TRUE(a.ok()) << a.status().message();
    ASSERT_TRUE(b.ok()) << b.status().message();
    ASSERT_TRUE(c.ok()) << c.status().message();
    for (const Result<SimulationResult>* other : {&b, &c}) {
      ASSERT_EQ((*other)->history.size(), a->history.size());
      for (size_t e = 0; e < a->history.size(); ++e) {
        EXPECT_EQ((*other)->history[e].train_loss, a->history[e].train_loss) << e;
        EXPECT_EQ((*other)->history[e].ranking, a->history[e].ranking) << e;
      }
    }
  }
}

// Users 0..39 (ids 1000 + u) rate 8 items each of 30 in train and one in test; user 5000
// rates all 30 items, so the catalogue is the same whatever the others rate. `others`
// changes every user's items except user 1007's (`own` changes 1007's).
std::string WriteImplicitData(const std::string& dir, int others, int own) {
  std::filesystem::create_directories(dir);
  std::ofstream train(dir + "/train.tsv"), test(dir + "/test.tsv");
  for (uint64_t u = 0; u < 40; ++u) {
    const uint64_t shift = u == 7 ? static_cast<uint64_t>(own) : static_cast<uint64_t>(others);
    for (uint64_t k = 0; k < 9; ++k) {
      const uint64_t item = 1 + (u * 7 + k * (3 + shift)) % 30;
      (k < 8 ? train : test) << 1000 + u << '\t' << item << "\t1\t0\n";
    }
  }
  for (uint64_t item = 1; item <= 30; ++item) train << 5000 << '\t' << item << "\t1\t0\n";
  return dir;
}

using Updates = std::map<uint64_t, std::pair<std::vector<uint32_t>, std::vector<float>>>;

// Every client's plain update in round 0 (q = 1: all of them), by client id.
Updates RoundZeroUpdates(config::ModelConfig::Type type, const std::string& dir) {
  config::JobConfig job = ImplicitFederatedJob(type, 1, 2);
  job.mutable_data()->clear_synthetic();
  job.mutable_data()->mutable_implicit()->clear_positive_threshold();
  job.mutable_data()->set_train_path(dir + "/train.tsv");
  job.mutable_data()->set_test_path(dir + "/test.tsv");
  job.mutable_data()->set_format(config::MOVIELENS_TSV);
  job.mutable_data()->mutable_split()->set_kind(config::SplitConfig::GIVEN);
  job.mutable_evaluation()->set_negatives(10);
  job.mutable_training()->set_epochs(1);
  job.mutable_training()->mutable_federated()->set_sampling_rate(1.0);
  std::mutex mu;
  Updates updates;
  SimulationOptions options;
  options.job = job;
  options.print_epochs = false;
  options.client_update_tap = [&](int, const train::ClientUpdate& u) {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(u.round, 0);
    updates[u.client_id] = {u.items, u.deltas};
  };
  Result<SimulationResult> run = RunSimulation(options);
  EXPECT_TRUE(run.ok()) << run.status().message();
  return updates;
}

TEST(FederatedImplicitTest, AClientsUpdateDependsOnlyOnItsOwnData) {
  const std::string root =
      (std::filesystem::temp_directory_path() / "psrec_federated_implicit_own").string();
  for (auto type : {config::ModelConfig::BPR_MF, config::ModelConfig::LOGISTIC_MF}) {
    const Updates base = RoundZeroUpdates(type, WriteImplicitData(root + "/a", 0, 0));
    const Updates others = RoundZeroUpdates(type, WriteImplicitData(root + "/b", 4, 0));
    const Updates own = RoundZeroUpdates(type, WriteImplicitData(root + "/c", 0, 4));
    ASSERT_EQ(base.size(), 41u);
    ASSERT_EQ(others.size(), 41u);
    ASSERT_TRUE(base.count(1007) && others.count(1007) && own.count(1007));
    // Its positives plus sampled negatives: more rows than its 8 positives.
    EXPECT_GT(base.at(1007).first.size(), 8u);
    // Other users' data changed: client 1007's update is the same, bit for bit.
    EXPECT_EQ(base.at(1007).first, others.at(1007).first);
    EXPECT_EQ(base.at(1007).second, others.at(1007).second);
    // ...while theirs changed (the data sets do differ), and its own data changes its own.
    EXPECT_NE(base.at(1003).first, others.at(1003).first);
    EXPECT_NE(base.at(1007).first, own.at(1007).first);
  }
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace psrec::cli
