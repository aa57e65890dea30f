// DP-FedAvg and secure aggregation in FEDERATED jobs end to end (train/private_aggregation.h):
// rounds with clipping and noise train and report epsilon that grows with the rounds; a
// 1-worker DP run repeats bit for bit whatever the server count (seeded noise); secure
// aggregation gives the plain result up to fixed-point rounding, with dropouts too; bad
// settings fail naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "common/config.h"
#include "models/model_tables.h"
#include "cli/simulation.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

config::JobConfig FederatedJob(int servers, int workers, int rounds) {
  config::JobConfig job = SmallJob(servers, workers);
  job.mutable_training()->set_update_mode(config::FEDERATED);
  job.mutable_training()->set_consistency(config::BSP);
  job.mutable_training()->set_epochs(rounds);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->set_sampling_rate(0.3);
  f->set_local_epochs(3);
  f->set_client_lr(0.03f);
  models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
  return job;
}

double Figure(const train::EpochMetrics& m, const std::string& name) {
  for (const auto& [n, v] : m.mode_figures) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no figure " << name;
  return 0.0;
}

void MakeDp(config::JobConfig* job, double clip, double z) {
  config::FederatedConfig* f = job->mutable_training()->mutable_federated();
  f->set_clip_norm(clip);
  f->set_noise_multiplier(z);
  f->set_delta(1e-5);
}

TEST(FederatedPrivacyJobTest, DpRoundsTrainAndReportEpsilon) {
  config::JobConfig job = FederatedJob(2, 2, 10);
  MakeDp(&job, 0.5, 0.3);
  Result<SimulationResult> run = RunJob(job);
  ASSERT_TRUE(run.ok()) << run.status().message();
  const auto& h = run->history;
  ASSERT_EQ(h.size(), 10u);
  double previous = 0;
  for (const train::EpochMetrics& m : h) {
    const double epsilon = Figure(m, "epsilon");
    EXPECT_GT(epsilon, previous);
    EXPECT_TRUE(std::isfinite(epsilon));
    previous = epsilon;
  }
  EXPECT_GT(Figure(h.back(), "clients_clipped"), 0);
  EXPECT_LT(h.back().test_rmse, h.front().test_rmse);
  // The accountant's figure for (q 0.3, z 0.3, 10 rounds, delta 1e-5) is large: z 0.3 is
  // little noise. What matters here is that it is composed per round.
  std::printf("DP 2x2, z 0.3: epsilon %.2f after 10 rounds, RMSE %.4f -> %.4f\n", previous,
              h.front().test_rmse, h.back().test_rmse);
}

TEST(FederatedPrivacyJobTest, OneWorkerDpRunRepeatsWhateverTheServerCount) {
  config::JobConfig one = FederatedJob(1, 1, 4);
  MakeDp(&one, 0.5, 1.0);
  config::JobConfig three = FederatedJob(3, 1, 4);
  MakeDp(&three, 0.5, 1.0);
  Result<SimulationResult> a = RunJob(one);
  Result<SimulationResult> b = RunJob(three);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ExpectSameEpochs(a->history, b->history);
}

TEST(FederatedPrivacyJobTest, SecureAggregationGivesThePlainResult) {
  // q 0.05: ~37 clients per worker and round (each masks with every other: O(n^2) work).
  config::JobConfig plain = FederatedJob(2, 2, 3);
  plain.mutable_training()->mutable_federated()->set_sampling_rate(0.05);
  plain.mutable_training()->mutable_federated()->set_dropout_fraction(0.2);
  config::JobConfig secure = plain;
  secure.mutable_training()->mutable_federated()->set_secure_aggregation(true);
  Result<SimulationResult> a = RunJob(plain);
  Result<SimulationResult> b = RunJob(secure);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_EQ(a->history.size(), b->history.size());
  for (size_t i = 0; i < a->history.size(); ++i) {
    // Masks cancel exactly; only the 2^-20 fixed-point rounding of each delta differs.
    EXPECT_NEAR(a->history[i].test_rmse, b->history[i].test_rmse, 1e-4);
    EXPECT_EQ(Figure(b->history[i], "groups_abandoned"), 0);
    EXPECT_GT(Figure(b->history[i], "clients_dropped"), 0);
    // A masked client uploads the whole dense vector of its worker's round rows.
    EXPECT_GT(Figure(b->history[i], "bytes_up_per_client_mean"),
              Figure(a->history[i], "bytes_up_per_client_mean"));
  }
}

// eval_every k evaluates rounds k, 2k, ... and the last only; refit_epochs and server
// momentum run alongside and the model still learns.
TEST(FederatedPrivacyJobTest, EvalEveryRefitAndMomentum) {
  config::JobConfig job = FederatedJob(2, 2, 7);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->set_eval_every(3);
  f->set_refit_epochs(2);
  f->set_server_momentum(0.5);
  Result<SimulationResult> run = RunJob(job);
  ASSERT_TRUE(run.ok()) << run.status().message();
  const auto& h = run->history;
  ASSERT_EQ(h.size(), 7u);
  for (size_t i = 0; i < h.size(); ++i) {
    const bool evaluated = (i + 1) % 3 == 0 || i + 1 == h.size();
    EXPECT_EQ(std::isfinite(h[i].test_rmse), evaluated) << "round " << i + 1;
  }
  EXPECT_LT(h.back().test_rmse, h[2].test_rmse);
}

TEST(FederatedPrivacyJobTest, BadSettingsNameTheField) {
  // Secure aggregation with under 2 expected clients per worker and round.
  config::JobConfig sparse = FederatedJob(1, 2, 2);
  sparse.mutable_training()->mutable_federated()->set_sampling_rate(0.001);
  sparse.mutable_training()->mutable_federated()->set_secure_aggregation(true);
  Result<SimulationResult> run = RunJob(sparse);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("training.federated.secure_aggregation"),
            std::string::npos)
      << run.status().message();
  config::JobConfig bad_clip = FederatedJob(1, 1, 2);
  MakeDp(&bad_clip, -1, 1.0);
  run = RunJob(bad_clip);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("training.federated.clip_norm"), std::string::npos)
      << run.status().message();
  config::JobConfig unreachable = FederatedJob(1, 1, 2);
  MakeDp(&unreachable, 0.5, 1.0);
  unreachable.mutable_training()->mutable_federated()->clear_noise_multiplier();
  unreachable.mutable_training()->mutable_federated()->set_target_epsilon(1e-12);
  run = RunJob(unreachable);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("training.federated.target_epsilon"), std::string::npos)
      << run.status().message();
}

}  // namespace
}  // namespace psrec::cli
