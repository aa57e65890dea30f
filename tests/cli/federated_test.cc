// training.update_mode FEDERATED end to end (train/federated_round.h): rounds train, a
// 1-worker run repeats bit for bit whatever the server count, bad settings fail naming the
// field, and no user id, user row or rating leaves a worker (every byte the workers send
// is captured at the transport seam).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/config.h"
#include "models/model_tables.h"
#include "cli/simulation.h"
#include "tests/cli/small_job.h"
#include "wire/frame_tap.h"

namespace psrec::cli {
namespace {

config::JobConfig FederatedJob(int servers, int workers) {
  config::JobConfig job = SmallJob(servers, workers);
  job.mutable_training()->set_update_mode(config::FEDERATED);
  job.mutable_training()->set_consistency(config::BSP);
  job.mutable_training()->set_epochs(25);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->set_sampling_rate(0.3);
  f->set_local_epochs(3);
  f->set_client_lr(0.03f);
  models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
  return job;
}

TEST(FederatedTest, RoundsTrainAndReportTheirClients) {
  Result<SimulationResult> run = RunJob(FederatedJob(2, 2));
  ASSERT_TRUE(run.ok()) << run.status().message();
  const auto& h = run->history;
  ASSERT_EQ(h.size(), 25u);
  EXPECT_LT(h.back().test_rmse, h.front().test_rmse);
  EXPECT_LT(h.back().test_rmse, 0.75);
  std::printf("federated 2x2: round 1 %.4f, round 25 %.4f\n", h.front().test_rmse,
              h.back().test_rmse);
  auto figure = [](const train::EpochMetrics& m, const std::string& name) {
    for (const auto& [n, v] : m.mode_figures) {
      if (n == name) return v;
    }
    ADD_FAILURE() << "no figure " << name;
    return 0.0;
  };
  // 1500 clients at q = 0.3: about 450 a round, every one reporting (no dropouts).
  const double sampled = figure(h.back(), "clients_sampled");
  EXPECT_GT(sampled, 350);
  EXPECT_LT(sampled, 550);
  EXPECT_EQ(figure(h.back(), "clients_reporting"), sampled);
  EXPECT_EQ(figure(h.back(), "clients_dropped"), 0);
  EXPECT_GT(figure(h.back(), "bytes_up_per_client_mean"), 0);
}

TEST(FederatedTest, DroppedClientsNeverReport) {
  config::JobConfig job = FederatedJob(1, 2);
  job.mutable_training()->set_epochs(3);
  job.mutable_training()->mutable_federated()->set_dropout_fraction(0.5);
  Result<SimulationResult> run = RunJob(job);
  ASSERT_TRUE(run.ok()) << run.status().message();
  for (const train::EpochMetrics& m : run->history) {
    double sampled = 0, reporting = 0, dropped = 0;
    for (const auto& [n, v] : m.mode_figures) {
      if (n == "clients_sampled") sampled = v;
      if (n == "clients_reporting") reporting = v;
      if (n == "clients_dropped") dropped = v;
    }
    EXPECT_EQ(sampled, reporting + dropped);
    EXPECT_GT(dropped, 0.3 * sampled);
    EXPECT_LT(dropped, 0.7 * sampled);
  }
}

TEST(FederatedTest, OneWorkerRepeatsBitForBitWhateverTheServerCount) {
  config::JobConfig job = FederatedJob(1, 1);
  job.mutable_training()->set_epochs(6);
  Result<SimulationResult> a = RunJob(job);
  Result<SimulationResult> b = RunJob(job);
  config::JobConfig three = FederatedJob(3, 1);
  three.mutable_training()->set_epochs(6);
  Result<SimulationResult> c = RunJob(three);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  ASSERT_TRUE(c.ok()) << c.status().message();
  ExpectSameEpochs(a->history, b->history);
  ExpectSameEpochs(a->history, c->history);
}

TEST(FederatedTest, BadSettingsNameTheField) {
  struct Case {
    const char* field;
    double value;
  };
  for (const Case& c : {Case{"sampling_rate", 0}, Case{"sampling_rate", 1.5},
                        Case{"sampling_rate", -0.1}, Case{"local_epochs", 0}}) {
    config::JobConfig job = FederatedJob(1, 1);
    config::FederatedConfig* f = job.mutable_training()->mutable_federated();
    if (std::string(c.field) == "sampling_rate") f->set_sampling_rate(c.value);
    else f->set_local_epochs(static_cast<int>(c.value));
    Status status = ValidateJobConfig(job);
    ASSERT_FALSE(status.ok()) << c.field << " " << c.value;
    EXPECT_NE(status.message().find(std::string("training.federated.") + c.field),
              std::string::npos)
        << status.message();
  }
  config::JobConfig q_one = FederatedJob(1, 1);
  q_one.mutable_training()->mutable_federated()->set_sampling_rate(1.0);
  EXPECT_TRUE(ValidateJobConfig(q_one).ok());
  // Implicit-feedback models train (tests/cli/federated_implicit_test.cc), but a client
  // cannot draw popularity-weighted negatives: the counts are other clients' data.
  config::JobConfig bpr = FederatedJob(1, 1);
  bpr.mutable_model()->set_type(config::ModelConfig::BPR_MF);
  bpr.mutable_data()->mutable_implicit()->set_sampler(config::ImplicitConfig::POPULARITY);
  Result<SimulationResult> implicit = RunJob(bpr);
  ASSERT_FALSE(implicit.ok());
  EXPECT_NE(implicit.status().message().find("data.implicit.sampler"), std::string::npos)
      << implicit.status().message();
  // A user row on the servers would leave its client.
  config::JobConfig remote = FederatedJob(1, 1);
  models::MutableTableConfig(&remote, "user")->set_placement(config::TableConfig::REMOTE);
  Result<SimulationResult> run = RunJob(remote);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("tables.user.placement"), std::string::npos)
      << run.status().message();
}

// FedAdam (server_optimizer SERVER_ADAM): the workers reduce the whole aggregate and each
// steps the rows it owns; 2 servers x 2 workers train, and momentum beside Adam is refused.
TEST(FederatedTest, ServerAdamTrains) {
  config::JobConfig job = FederatedJob(2, 2);
  config::FederatedConfig* f = job.mutable_training()->mutable_federated();
  f->set_server_optimizer(config::FederatedConfig::SERVER_ADAM);
  f->set_server_lr(0.01f);
  Result<SimulationResult> run = RunJob(job);
  ASSERT_TRUE(run.ok()) << run.status().message();
  const auto& h = run->history;
  ASSERT_EQ(h.size(), 25u);
  EXPECT_LT(h.back().test_rmse, h.front().test_rmse);
  EXPECT_LT(h.back().test_rmse, 0.8);
  std::printf("FedAdam 2x2: round 1 %.4f, round 25 %.4f\n", h.front().test_rmse,
              h.back().test_rmse);
  f->set_server_momentum(0.5);
  Result<SimulationResult> both = RunJob(job);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("training.federated.server_momentum"),
            std::string::npos)
      << both.status().message();
}

// Ratings with user ids and rating values that cannot occur by chance in the bytes sent.
constexpr uint64_t kFirstUser = 0x51a7e0000000ULL;
constexpr float kRatings[4] = {1.23456f, 2.34567f, 3.45678f, 4.56789f};

std::string WriteDistinctiveRatings(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream train(dir + "/train.tsv"), test(dir + "/test.tsv");
  for (uint64_t u = 0; u < 120; ++u) {
    for (uint64_t k = 0; k < 24; ++k) {
      const uint64_t item = 1 + (u * 7 + k * 13) % 60;
      std::ofstream& out = k < 21 ? train : test;
      out << kFirstUser + u * 977 << '\t' << item << '\t' << kRatings[(u + k) % 4] << "\t0\n";
    }
  }
  return dir;
}

std::vector<uint8_t> LittleEndian(uint64_t v, int bytes) {
  std::vector<uint8_t> out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}

std::vector<uint8_t> Varint(uint64_t v) {
  std::vector<uint8_t> out;
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
  return out;
}

// How many of `patterns` occur in any sent frame.
int Occurrences(const std::vector<wire::SentFrame>& frames,
                const std::vector<std::vector<uint8_t>>& patterns) {
  int found = 0;
  for (const auto& pattern : patterns) {
    for (const wire::SentFrame& frame : frames) {
      if (std::search(frame.body.begin(), frame.body.end(), pattern.begin(), pattern.end()) !=
          frame.body.end()) {
        ++found;
        break;
      }
    }
  }
  return found;
}

Result<std::vector<wire::SentFrame>> CaptureRun(const config::JobConfig& job) {
  wire::FrameTap tap(wire::Transport::Default(), {});
  SimulationOptions options;
  options.job = job;
  options.print_epochs = false;
  options.worker_transport = &tap;
  ASSIGN_OR_RETURN(SimulationResult run, RunSimulation(options));
  (void)run;
  return tap.frames();
}

TEST(FederatedTest, NoUserIdUserRowOrRatingLeavesAWorker) {
  const std::string dir = WriteDistinctiveRatings(
      (std::filesystem::temp_directory_path() / "psrec_federated_capture").string());
  config::JobConfig job = FederatedJob(2, 2);
  job.mutable_data()->clear_synthetic();
  job.mutable_data()->set_train_path(dir + "/train.tsv");
  job.mutable_data()->set_test_path(dir + "/test.tsv");
  job.mutable_data()->set_format(config::MOVIELENS_TSV);
  job.mutable_data()->mutable_split()->set_kind(config::SplitConfig::GIVEN);
  job.mutable_training()->set_epochs(4);
  job.mutable_training()->mutable_federated()->set_sampling_rate(1.0);
  ASSERT_TRUE(ValidateJobConfig(job).ok()) << ValidateJobConfig(job).message();
  std::vector<std::vector<uint8_t>> ids, ratings;
  for (uint64_t u = 0; u < 120; ++u) {
    ids.push_back(LittleEndian(kFirstUser + u * 977, 8));
    ids.push_back(Varint(kFirstUser + u * 977));
  }
  for (float r : kRatings) {
    uint32_t bits;
    std::memcpy(&bits, &r, 4);
    ratings.push_back(LittleEndian(bits, 4));
  }

  Result<std::vector<wire::SentFrame>> federated = CaptureRun(job);
  ASSERT_TRUE(federated.ok()) << federated.status().message();
  ASSERT_FALSE(federated->empty());
  size_t pushed = 0;
  for (const wire::SentFrame& f : *federated) {
    if (f.type == wire::MessageType::kPush) pushed += f.body.size();
  }
  EXPECT_GT(pushed, 0u) << "the clients' item deltas must reach the servers";
  EXPECT_EQ(Occurrences(*federated, ids), 0) << "a user id left a worker";
  EXPECT_EQ(Occurrences(*federated, ratings), 0) << "a rating left a worker";

  // The same scan sees user ids when they are sent: DELTAS with REMOTE user rows.
  config::JobConfig central = job;
  central.mutable_training()->set_update_mode(config::DELTAS);
  central.mutable_training()->set_consistency(config::ASP);
  models::MutableTableConfig(&central, "user")->set_placement(config::TableConfig::REMOTE);
  Result<std::vector<wire::SentFrame>> centralized = CaptureRun(central);
  ASSERT_TRUE(centralized.ok()) << centralized.status().message();
  EXPECT_GT(Occurrences(*centralized, ids), 0);
  std::filesystem::remove_all(dir);
}

// BPR-MF clients (train/federated_implicit.cc): what leaves a worker is item keys and
// item-row deltas (positives and sampled negatives alike), never a user id.
TEST(FederatedTest, ImplicitClientsSendNoUserId) {
  const std::string dir = WriteDistinctiveRatings(
      (std::filesystem::temp_directory_path() / "psrec_federated_implicit_capture").string());
  config::JobConfig job = FederatedJob(2, 2);
  job.mutable_model()->set_type(config::ModelConfig::BPR_MF);
  job.mutable_data()->clear_synthetic();
  job.mutable_data()->set_train_path(dir + "/train.tsv");
  job.mutable_data()->set_test_path(dir + "/test.tsv");
  job.mutable_data()->set_format(config::MOVIELENS_TSV);
  job.mutable_data()->mutable_split()->set_kind(config::SplitConfig::GIVEN);
  job.mutable_data()->mutable_implicit()->set_negatives_per_positive(2);
  job.mutable_training()->set_epochs(3);
  job.mutable_training()->mutable_federated()->set_sampling_rate(1.0);
  std::vector<std::vector<uint8_t>> ids;
  for (uint64_t u = 0; u < 120; ++u) {
    ids.push_back(LittleEndian(kFirstUser + u * 977, 8));
    ids.push_back(Varint(kFirstUser + u * 977));
  }
  Result<std::vector<wire::SentFrame>> frames = CaptureRun(job);
  ASSERT_TRUE(frames.ok()) << frames.status().message();
  size_t pushed = 0;
  for (const wire::SentFrame& f : *frames) {
    if (f.type == wire::MessageType::kPush) pushed += f.body.size();
  }
  EXPECT_GT(pushed, 0u);
  EXPECT_EQ(Occurrences(*frames, ids), 0) << "a user id left a worker";
  std::filesystem::remove_all(dir);
}

// With secure aggregation, each client hands its worker (the aggregation point) only
// masked fixed-point words (tests/train/private_aggregation_test.cc shows they are unrelated
// to its plain update); what leaves the worker is one decoded sum per round and server,
// never a per-client push, and still no user id or rating.
TEST(FederatedTest, SecureAggregationSendsOnlyOneSumPerWorkerAndRound) {
  const std::string dir = WriteDistinctiveRatings(
      (std::filesystem::temp_directory_path() / "psrec_federated_secure_capture").string());
  config::JobConfig job = FederatedJob(2, 2);
  job.mutable_data()->clear_synthetic();
  job.mutable_data()->set_train_path(dir + "/train.tsv");
  job.mutable_data()->set_test_path(dir + "/test.tsv");
  job.mutable_data()->set_format(config::MOVIELENS_TSV);
  job.mutable_data()->mutable_split()->set_kind(config::SplitConfig::GIVEN);
  job.mutable_training()->set_epochs(2);
  job.mutable_training()->mutable_federated()->set_sampling_rate(1.0);
  job.mutable_training()->mutable_federated()->set_secure_aggregation(true);
  std::vector<std::vector<uint8_t>> ids, ratings;
  for (uint64_t u = 0; u < 120; ++u) {
    ids.push_back(LittleEndian(kFirstUser + u * 977, 8));
    ids.push_back(Varint(kFirstUser + u * 977));
  }
  for (float r : kRatings) {
    uint32_t bits;
    std::memcpy(&bits, &r, 4);
    ratings.push_back(LittleEndian(bits, 4));
  }
  Result<std::vector<wire::SentFrame>> secure = CaptureRun(job);
  ASSERT_TRUE(secure.ok()) << secure.status().message();
  EXPECT_EQ(Occurrences(*secure, ids), 0) << "a user id left a worker";
  EXPECT_EQ(Occurrences(*secure, ratings), 0) << "a rating left a worker";
  size_t pushes = 0;
  for (const wire::SentFrame& f : *secure) pushes += f.type == wire::MessageType::kPush;
  // 2 rounds x 2 workers x 2 servers: one summed part per server, whatever the ~60 clients
  // each worker hosts a round.
  EXPECT_GT(pushes, 0u);
  EXPECT_LE(pushes, 8u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace psrec::cli
