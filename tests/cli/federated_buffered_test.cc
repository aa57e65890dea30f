// Buffered asynchronous aggregation (FedBuff, train/federated_buffered.cc) end to end in
// `psrec sim` clusters: every step takes exactly buffer_size updates, stale ones are
// down-weighted or discarded, a straggler or a dropped client never holds a step back
// (a synchronous round waits for its slowest client), a 1-worker run repeats bit for bit
// whatever the server count, and bad settings fail naming the field.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "common/config.h"
#include "models/model_tables.h"
#include "cli/simulation.h"
#include "tests/cli/small_job.h"
#include "train/privacy/rdp_accountant.h"

namespace psrec::cli {
namespace {

// 1500 clients; 120 train at a time, each step takes 30 updates. Devices differ
// (log-normal spread 0.5), so no two clients finish at the same virtual time.
config::JobConfig BufferedJob(int servers, int workers) {
  config::JobConfig job = SmallJob(servers, workers);
  job.mutable_training()->set_update_mode(config::FEDERATED);
  job.mutable_training()->set_consistency(config::BSP);
  job.mutable_training()->set_epochs(30);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->set_local_epochs(3);
  f->set_client_lr(0.03f);
  f->mutable_buffered()->set_buffer_size(30);
  f->mutable_buffered()->set_concurrency(120);
  f->mutable_client_compute()->set_speed_spread(0.5);
  models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
  return job;
}

double Figure(const train::EpochMetrics& m, const std::string& name) {
  for (const auto& [n, v] : m.mode_figures) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no figure " << name;
  return 0;
}

TEST(FederatedBufferedTest, EveryStepTakesBufferSizeUpdatesAndTrains) {
  Result<SimulationResult> run = RunJob(BufferedJob(2, 2));
  ASSERT_TRUE(run.ok()) << run.status().message();
  const auto& h = run->history;
  ASSERT_EQ(h.size(), 30u);
  double previous_time = 0, staleness_max = 0;
  for (const train::EpochMetrics& m : h) {
    EXPECT_EQ(Figure(m, "clients_reporting"), 30) << "step " << m.epoch;
    EXPECT_EQ(Figure(m, "clients_dropped"), 0);
    EXPECT_GT(Figure(m, "virtual_time"), previous_time);
    previous_time = Figure(m, "virtual_time");
    staleness_max = std::max(staleness_max, Figure(m, "staleness_max"));
  }
  // The first step starts all 120 clients; later ones refill the slots the previous freed.
  EXPECT_EQ(Figure(h.front(), "clients_sampled"), 120);
  EXPECT_EQ(Figure(h[1], "clients_sampled"), 30);
  // 120 in flight, 30 per step: an update is about 4 steps old on average.
  EXPECT_GT(staleness_max, 2);
  EXPECT_GT(Figure(h.back(), "staleness_mean"), 1);
  EXPECT_LT(h.back().test_rmse, h.front().test_rmse);
  EXPECT_LT(h.back().test_rmse, 0.8);
  std::printf("buffered 2x2: step 1 %.4f, step 30 %.4f, virtual time %.0f\n",
              h.front().test_rmse, h.back().test_rmse, previous_time);
}

TEST(FederatedBufferedTest, StragglersAndDropoutsNeverHoldAStepBack) {
  // A tenth of the devices are a million times slower, and 30% of the clients drop out.
  auto slow = [](config::JobConfig job) {
    config::FederatedConfig* f = job.mutable_training()->mutable_federated();
    f->mutable_client_compute()->set_straggler_fraction(0.1);
    f->mutable_client_compute()->set_straggler_slowdown(1e6);
    f->set_dropout_fraction(0.3);
    job.mutable_training()->set_epochs(8);
    return job;
  };
  Result<SimulationResult> buffered = RunJob(slow(BufferedJob(1, 2)));
  ASSERT_TRUE(buffered.ok()) << buffered.status().message();
  double dropped = 0;
  for (const train::EpochMetrics& m : buffered->history) {
    EXPECT_EQ(Figure(m, "clients_reporting"), 30) << "step " << m.epoch;
    dropped += Figure(m, "clients_dropped");
  }
  EXPECT_GT(dropped, 0);
  // No step waited for a straggler: 8 steps take less than one straggler's training.
  EXPECT_LT(Figure(buffered->history.back(), "virtual_time"), 1e6);
  EXPECT_LT(buffered->history.back().test_rmse, buffered->history.front().test_rmse);

  // The same population in synchronous rounds: a round lasts until its slowest reporting
  // client is done, so the first round already waits for a straggler.
  config::JobConfig sync = slow(BufferedJob(1, 2));
  sync.mutable_training()->mutable_federated()->clear_buffered();
  sync.mutable_training()->mutable_federated()->set_sampling_rate(0.1);
  sync.mutable_training()->set_epochs(2);
  Result<SimulationResult> rounds = RunJob(sync);
  ASSERT_TRUE(rounds.ok()) << rounds.status().message();
  EXPECT_GT(Figure(rounds->history.front(), "virtual_time"), 1e6);
}

TEST(FederatedBufferedTest, StaleUpdatesAreDiscardedPastMaxStaleness) {
  config::JobConfig job = BufferedJob(1, 2);
  job.mutable_training()->set_epochs(10);
  job.mutable_training()->mutable_federated()->mutable_buffered()->set_max_staleness(2);
  Result<SimulationResult> run = RunJob(job);
  ASSERT_TRUE(run.ok()) << run.status().message();
  double discarded = 0;
  for (const train::EpochMetrics& m : run->history) discarded += Figure(m, "updates_discarded");
  EXPECT_GT(discarded, 0);
  EXPECT_LT(run->history.back().test_rmse, run->history.front().test_rmse);
}

TEST(FederatedBufferedTest, OneWorkerRepeatsBitForBitWhateverTheServerCount) {
  config::JobConfig job = BufferedJob(1, 1);
  job.mutable_training()->set_epochs(6);
  config::JobConfig three = BufferedJob(3, 1);
  three.mutable_training()->set_epochs(6);
  Result<SimulationResult> a = RunJob(job);
  Result<SimulationResult> b = RunJob(job);
  Result<SimulationResult> c = RunJob(three);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_TRUE(c.ok()) << c.status().message();
  ExpectSameEpochs(a->history, b->history);
  ExpectSameEpochs(a->history, c->history);
}

TEST(FederatedBufferedTest, BadSettingsNameTheField) {
  auto fails_naming = [](const config::JobConfig& job, const std::string& field) {
    Status status = ValidateJobConfig(job);
    if (status.ok()) {
      Result<SimulationResult> run = RunJob(job);
      ASSERT_FALSE(run.ok()) << field;
      status = run.status();
    }
    EXPECT_NE(status.message().find("training.federated." + field), std::string::npos)
        << status.message();
  };
  config::JobConfig job = BufferedJob(1, 1);
  job.mutable_training()->mutable_federated()->mutable_buffered()->set_buffer_size(0);
  fails_naming(job, "buffered.buffer_size");
  job = BufferedJob(1, 1);
  job.mutable_training()->mutable_federated()->mutable_buffered()->set_buffer_size(200);
  fails_naming(job, "buffered.buffer_size");
  job = BufferedJob(1, 1);
  job.mutable_training()->mutable_federated()->mutable_buffered()->set_concurrency(5000);
  fails_naming(job, "buffered.concurrency");
  job = BufferedJob(1, 1);
  job.mutable_training()->mutable_federated()->mutable_buffered()->set_staleness_exponent(-1);
  fails_naming(job, "buffered.staleness_exponent");
  job = BufferedJob(1, 1);
  job.mutable_training()->mutable_federated()->mutable_client_compute()->set_straggler_slowdown(
      0.5);
  fails_naming(job, "client_compute.straggler_slowdown");
  // The accountant cannot calibrate z in advance: how many steps a client enters is known
  // only as the run goes.
  job = BufferedJob(1, 1);
  job.mutable_training()->mutable_federated()->set_clip_norm(1.0);
  job.mutable_training()->mutable_federated()->set_target_epsilon(2.0);
  fails_naming(job, "target_epsilon");
  // 3 updates a step over 2 workers: 1.5 per worker, too few for masks to hide one.
  job = BufferedJob(1, 2);
  job.mutable_training()->mutable_federated()->set_secure_aggregation(true);
  job.mutable_training()->mutable_federated()->mutable_buffered()->set_buffer_size(3);
  fails_naming(job, "secure_aggregation");
}

// Secure aggregation under FedBuff: each step's arrivals on a worker mask among each other
// and the worker decodes their sum, equal to the plain sum up to the fixed-point encoding
// (2^-20), staleness weights included.
TEST(FederatedBufferedTest, SecureAggregationGivesThePlainStep) {
  config::JobConfig job = BufferedJob(2, 2);
  job.mutable_training()->set_epochs(8);
  config::JobConfig secure = job;
  secure.mutable_training()->mutable_federated()->set_secure_aggregation(true);
  Result<SimulationResult> plain = RunJob(job);
  Result<SimulationResult> masked = RunJob(secure);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  ASSERT_TRUE(masked.ok()) << masked.status().message();
  ASSERT_EQ(plain->history.size(), masked->history.size());
  for (size_t e = 0; e < plain->history.size(); ++e) {
    EXPECT_NEAR(masked->history[e].test_rmse, plain->history[e].test_rmse, 1e-4) << e;
    EXPECT_EQ(Figure(masked->history[e], "groups_abandoned"), 0);
    EXPECT_EQ(Figure(masked->history[e], "clients_reporting"), 30);
  }
  // A masked client uploads the dense vector of its step's rows: more than its plain rows.
  EXPECT_GT(Figure(masked->history.back(), "bytes_up_per_client_mean"),
            Figure(plain->history.back(), "bytes_up_per_client_mean"));
}

// DP under FedBuff: every update clipped, each step's sum noised, and epsilon composed over
// the steps of the client that entered the most, without amplification by sampling.
TEST(FederatedBufferedTest, DpAccountsForTheBusiestClient) {
  config::JobConfig job = BufferedJob(2, 2);
  job.mutable_training()->set_epochs(10);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->set_clip_norm(0.3);
  f->set_noise_multiplier(2.0);
  f->set_delta(1e-5);
  f->set_server_lr(10);
  Result<SimulationResult> run = RunJob(job);
  ASSERT_TRUE(run.ok()) << run.status().message();
  double previous = 0;
  for (const train::EpochMetrics& m : run->history) {
    const double most = Figure(m, "client_contributions_max");
    EXPECT_GE(most, 1);
    EXPECT_LE(most, m.epoch);  // at most one update per step
    Result<train::privacy::PrivacySpent> expected =
        train::privacy::ComputeEpsilon(1.0, 2.0, static_cast<int64_t>(most), 1e-5);
    ASSERT_TRUE(expected.ok());
    EXPECT_DOUBLE_EQ(Figure(m, "epsilon"), expected->epsilon);
    EXPECT_GE(Figure(m, "epsilon"), previous);
    previous = Figure(m, "epsilon");
    EXPECT_GE(Figure(m, "clients_clipped"), 0);
    EXPECT_TRUE(std::isfinite(m.test_rmse));
  }
  EXPECT_GT(Figure(run->history.back(), "clients_clipped"), 0);
}

}  // namespace
}  // namespace psrec::cli
