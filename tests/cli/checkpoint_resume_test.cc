// Checkpoints taken during training and resume (issue #4), end to end in one process: the
// servers and workers of `psrec sim` over loopback TCP, the code `psrec train` runs.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "common/keys.h"
#include "cli/run_setup.h"
#include "cli/simulation.h"
#include "cli/worker_runner.h"
#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_reader.h"
#include "ps/server.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;

// SmallJob with AdaGrad (its state must survive a checkpoint) and a checkpoint per epoch.
config::JobConfig SmallJob(int servers, int workers, int epochs) {
  config::JobConfig job = psrec::cli::SmallJob(servers, workers);
  SetOptimizer(&job, config::OptimizerConfig::ADAGRAD, 0.1f, 1.0f);
  job.mutable_training()->set_epochs(epochs);
  job.mutable_checkpoint()->set_every_epochs(1);
  job.mutable_checkpoint()->set_keep_last(3);
  return job;
}

class CheckpointResumeTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("psrec_ckpt_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string CheckpointDir() const { return (root_ / "ckpt").string(); }

  Result<SimulationResult> Run(config::JobConfig job, const std::string& resume_from = "") {
    SimulationOptions options;
    options.job = std::move(job);
    options.print_epochs = false;
    options.resume_from = resume_from;
    return RunSimulation(options);
  }

  // Trains `first` epochs with checkpoints, then resumes from the latest to `total`.
  Result<SimulationResult> TrainThenResume(config::JobConfig job, int first, int total) {
    job.mutable_checkpoint()->set_dir(CheckpointDir());
    job.mutable_training()->set_epochs(first);
    RETURN_IF_ERROR(Run(job).status());
    ASSIGN_OR_RETURN(std::string latest, checkpoint::LatestValidCheckpoint(CheckpointDir()));
    job.mutable_training()->set_epochs(total);
    return Run(job, latest);
  }

  fs::path root_;
};

TEST_F(CheckpointResumeTest, OneWorkerBspResumeIsBitwiseEqualToAnUninterruptedRun) {
  config::JobConfig job = SmallJob(2, 1, 4);
  job.mutable_training()->set_consistency(config::BSP);
  Result<SimulationResult> straight = Run(job);
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  Result<SimulationResult> resumed = TrainThenResume(job, 2, 4);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  ASSERT_EQ(resumed->history.size(), 2u);
  EXPECT_EQ(resumed->history.front().epoch, 3);
  EXPECT_EQ(resumed->history.back().epoch, 4);
  ExpectSameEpochs(std::span(straight->history).subspan(2), resumed->history);
  std::printf("1 worker BSP, 4 epochs: test RMSE %.17g uninterrupted, %.17g resumed after 2\n",
              straight->history.back().test_rmse, resumed->history.back().test_rmse);
  // Every epoch of both parts left a checkpoint (keep_last 3 of 4), each with its pause.
  Result<std::vector<checkpoint::CheckpointListing>> listed = checkpoint::ListCheckpoints(CheckpointDir(), true);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 3u);
  for (const auto& c : *listed) EXPECT_TRUE(c.valid) << c.name << ": " << c.why;
  EXPECT_EQ(listed->back().epoch, 4);
  EXPECT_GE(resumed->history.back().checkpoint_pause_sec, 0);
  EXPECT_GE(resumed->history.back().checkpoint_snapshot_sec, 0);
}

// training.update_mode DELTAS: AdaGrad state that workers pulled, stepped and pushed back
// (items) or stepped in place (LOCAL users) is in the checkpoint, so a resumed run is still
// bitwise equal.
TEST_F(CheckpointResumeTest, OneWorkerDeltasResumeWithLocalUsersIsBitwiseEqual) {
  config::JobConfig job = SmallJob(2, 1, 4);
  job.mutable_training()->set_consistency(config::BSP);
  job.mutable_training()->set_update_mode(config::DELTAS);
  job.mutable_training()->set_rating_order(config::BY_USER);
  job.mutable_training()->set_batch_size(512);
  models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
  Result<SimulationResult> straight = Run(job);
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  Result<SimulationResult> resumed = TrainThenResume(job, 2, 4);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  ASSERT_EQ(resumed->history.size(), 2u);
  ExpectSameEpochs(std::span(straight->history).subspan(2), resumed->history);
  EXPECT_LT(straight->history.back().test_rmse, straight->history.front().test_rmse);
}

// Adam's moments and step counts, and FTRL's z and n, are saved with the rows: a resumed run
// takes the same steps, under GRADIENTS (servers step) and DELTAS with LOCAL users (workers
// step pulled copies and their own rows).
TEST_F(CheckpointResumeTest, OneWorkerBspResumeWithAdamOrFtrlIsBitwiseEqual) {
  for (const auto kind : {config::OptimizerConfig::ADAM, config::OptimizerConfig::FTRL}) {
    for (const auto mode : {config::GRADIENTS, config::DELTAS}) {
      SCOPED_TRACE(config::OptimizerConfig::Kind_Name(kind) + " " +
                   config::UpdateMode_Name(mode));
      config::JobConfig job = SmallJob(2, 1, 4);
      SetOptimizer(&job, kind, kind == config::OptimizerConfig::ADAM ? 0.01f : 0.1f, 1.0f);
      job.mutable_training()->set_consistency(config::BSP);
      job.mutable_training()->set_update_mode(mode);
      if (mode == config::DELTAS) {
        models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
      }
      Result<SimulationResult> straight = Run(job);
      ASSERT_TRUE(straight.ok()) << straight.status().message();
      fs::remove_all(CheckpointDir());
      Result<SimulationResult> resumed = TrainThenResume(job, 2, 4);
      ASSERT_TRUE(resumed.ok()) << resumed.status().message();
      ASSERT_EQ(resumed->history.size(), 2u);
      ExpectSameEpochs(std::span(straight->history).subspan(2), resumed->history);
      Result<std::string> latest = checkpoint::LatestValidCheckpoint(CheckpointDir());
      ASSERT_TRUE(latest.ok()) << latest.status().message();
      Result<checkpoint::LoadedCheckpoint> saved = checkpoint::ReadCheckpoint(*latest);
      ASSERT_TRUE(saved.ok()) << saved.status().message();
      const int dim = saved->FindTable(models::kItemTable)->dim();
      EXPECT_EQ(saved->FindTable(models::kItemTable)->state_floats(),
                kind == config::OptimizerConfig::ADAM ? 2 * dim + 1 : 2 * dim);
    }
  }
}

// Issue #4 acceptance on a real job: ML-100K u1, 2 servers x 2 workers, ASP, the fixed 40
// epochs of configs/ml100k_u1.textproto, resumed after epoch 20. Near convergence the
// run-to-run spread of async training is far below the 0.002 asked for (measured: 0.9146
// both ways).
TEST_F(CheckpointResumeTest, MovieLens100kTwoByTwoAsyncResumeWithin0002) {
  const std::string data = PSREC_ML100K_DIR;
  if (!fs::exists(data + "/u1.base")) GTEST_SKIP() << data << " not present";
  Result<config::JobConfig> job =
      LoadJobConfig(PSREC_SOURCE_DIR "/configs/ml100k_u1.textproto",
                    {"data.train_path=" + data + "/u1.base", "data.test_path=" + data + "/u1.test",
                     "cluster.servers=2", "cluster.workers=2", "training.consistency=ASP",
                     "output.progress=OFF"});
  ASSERT_TRUE(job.ok()) << job.status().message();
  Result<SimulationResult> straight = Run(*job);
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  Result<SimulationResult> resumed = TrainThenResume(*job, 20, 40);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  ASSERT_EQ(resumed->history.back().epoch, 40);
  std::printf("ML-100K u1 2x2 ASP: test RMSE %.6f uninterrupted, %.6f resumed after 20 of 40\n",
              straight->history.back().test_rmse, resumed->history.back().test_rmse);
  EXPECT_NEAR(straight->history.back().test_rmse, resumed->history.back().test_rmse, 0.002);
}

// BSP applies a clock's pushes in worker order once every worker has finished it, so 2 x 2
// runs are repeatable and a resumed one is bitwise equal too, under either update mode.
TEST_F(CheckpointResumeTest, TwoServersTwoWorkersBspResumeIsBitwiseEqual) {
  for (const auto mode : {config::GRADIENTS, config::DELTAS}) {
    SCOPED_TRACE(config::UpdateMode_Name(mode));
    config::JobConfig job = SmallJob(2, 2, 4);
    job.mutable_training()->set_consistency(config::BSP);
    job.mutable_training()->set_update_mode(mode);
    Result<SimulationResult> straight = Run(job);
    ASSERT_TRUE(straight.ok()) << straight.status().message();
    fs::remove_all(CheckpointDir());
    Result<SimulationResult> resumed = TrainThenResume(job, 2, 4);
    ASSERT_TRUE(resumed.ok()) << resumed.status().message();
    ASSERT_EQ(resumed->history.size(), 2u);
    ExpectSameEpochs(std::span(straight->history).subspan(2), resumed->history);
  }
}

// Under ASP two workers' pushes reach the servers in an order that depends on thread
// timing, and this short AdaGrad job is far from converged: measured over 15 pairs of runs
// on a 2-core machine, final test RMSEs spread over 0.351-0.387. A resumed run is held to
// that spread, and must be well below where the job stood at the checkpoint (a resume that
// restarted from fresh rows would be there or worse).
TEST_F(CheckpointResumeTest, TwoServersTwoWorkersAsyncResumeContinuesTraining) {
  config::JobConfig job = SmallJob(2, 2, 4);
  job.mutable_training()->set_consistency(config::ASP);
  Result<SimulationResult> straight = Run(job);
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  fs::remove_all(CheckpointDir());
  Result<SimulationResult> resumed = TrainThenResume(job, 2, 4);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  const double at_checkpoint = straight->history[1].test_rmse;
  std::printf("2x2 ASP: test RMSE %.6f after 2 epochs; after 4: %.6f uninterrupted, %.6f "
              "resumed after 2\n",
              at_checkpoint, straight->history.back().test_rmse,
              resumed->history.back().test_rmse);
  EXPECT_NEAR(straight->history.back().test_rmse, resumed->history.back().test_rmse, 0.06);
  EXPECT_LT(resumed->history.back().test_rmse, at_checkpoint - 0.03);
}

TEST_F(CheckpointResumeTest, LocalUsersResumeOnAnotherClusterShape) {
  config::JobConfig job = SmallJob(3, 2, 4);
  models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
  job.mutable_checkpoint()->set_dir(CheckpointDir());
  job.mutable_training()->set_epochs(2);
  ASSERT_TRUE(Run(job).ok());
  Result<std::string> latest = checkpoint::LatestValidCheckpoint(CheckpointDir());
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  config::JobConfig other = SmallJob(1, 3, 4);
  models::MutableTableConfig(&other, "user")->set_placement(config::TableConfig::LOCAL);
  other.mutable_checkpoint()->set_dir(CheckpointDir());
  Result<SimulationResult> resumed = Run(other, *latest);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  ASSERT_EQ(resumed->history.size(), 2u);
  EXPECT_LT(resumed->history.back().test_rmse, resumed->history.front().test_rmse);
  Result<checkpoint::LoadedCheckpoint> last = checkpoint::ReadCheckpoint(*checkpoint::LatestValidCheckpoint(CheckpointDir()));
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_EQ(last->manifest.shards(), 1);
  EXPECT_EQ(last->manifest.local_partitions(), 3);
  EXPECT_EQ(last->manifest.epoch(), 4);
}

TableSpec UserSpec(const config::JobConfig& job) {
  const std::vector<TableSpec> specs = models::TableSpecsForJob(job).value();
  for (const TableSpec& spec : specs) {
    if (spec.id == models::kUserTable) return spec;
  }
  ADD_FAILURE() << "no user table";
  return {};
}

using Rows = std::map<uint64_t, std::vector<float>>;  // key -> payload then state

Rows AllRows(const checkpoint::LoadedCheckpoint& checkpoint, TableId table) {
  Result<table::EmbeddingTable> whole = checkpoint::LoadWholeTable(checkpoint, table);
  EXPECT_TRUE(whole.ok()) << whole.status().message();
  Rows rows;
  whole->ForEachRow([&](uint64_t key, const float* payload, const float* state) {
    std::vector<float>& row = rows[key];
    row.assign(payload, payload + whole->dim());
    if (state != nullptr) row.insert(row.end(), state, state + whole->state_floats());
  });
  return rows;
}

void AddRows(const table::EmbeddingTable& table, Rows* rows) {
  table.ForEachRow([&](uint64_t key, const float* payload, const float* state) {
    std::vector<float> row(payload, payload + table.dim());
    if (state != nullptr) row.insert(row.end(), state, state + table.state_floats());
    EXPECT_TRUE(rows->emplace(key, std::move(row)).second) << "key " << key << " loaded twice";
  });
}

// Saved by 3 servers and 2 workers holding LOCAL users; loaded by 2 and by 1 server, and the
// users by 1 and by 3 workers (and by servers, as a REMOTE user table): every row, with its
// AdaGrad state, is where the new shape puts it and bitwise what was saved.
TEST_F(CheckpointResumeTest, ReshardedLoadsGiveIdenticalRows) {
  config::JobConfig job = SmallJob(3, 2, 2);
  models::MutableTableConfig(&job, "user")->set_placement(config::TableConfig::LOCAL);
  job.mutable_checkpoint()->set_dir(CheckpointDir());
  ASSERT_TRUE(Run(job).ok());
  Result<std::string> latest = checkpoint::LatestValidCheckpoint(CheckpointDir());
  ASSERT_TRUE(latest.ok());
  Result<checkpoint::LoadedCheckpoint> checkpoint = checkpoint::ReadCheckpoint(*latest);
  ASSERT_TRUE(checkpoint.ok());
  ASSERT_EQ(checkpoint->manifest.shards(), 3);
  ASSERT_EQ(checkpoint->manifest.local_partitions(), 2);
  const Rows saved_items = AllRows(*checkpoint, models::kItemTable);
  const Rows saved_users = AllRows(*checkpoint, models::kUserTable);
  ASSERT_GT(saved_items.size(), 250u);
  ASSERT_GT(saved_users.size(), 1400u);

  for (int servers : {2, 1}) {
    config::JobConfig remote_users = job;
    models::MutableTableConfig(&remote_users, "user")->set_placement(config::TableConfig::REMOTE);
    Rows items, users;
    for (int s = 0; s < servers; ++s) {
      ps::ServerOptions options;
      options.job = remote_users;
      options.secret = "checkpoint-resume-test";
      options.tables = models::TableSpecsForJob(options.job).value();
      options.server_id = s;
      options.num_servers = servers;
      options.resume_from = *latest;
      Result<std::unique_ptr<ps::Server>> server = ps::Server::Start(options);
      ASSERT_TRUE(server.ok()) << server.status().message();
      ASSERT_TRUE((*server)->RunOnTableThread([&](ps::ServedTables& tables) {
        for (TableId t : {models::kUserTable, models::kItemTable}) {
          tables[t]->ForEachRow([&](uint64_t key, const float*, const float*) {
            EXPECT_EQ(ServerOf(t, key, servers), s) << "key " << key << " on the wrong server";
          });
        }
        AddRows(*tables[models::kItemTable], &items);
        AddRows(*tables[models::kUserTable], &users);
      }).ok());
    }
    EXPECT_TRUE(items == saved_items) << servers << " servers";
    EXPECT_TRUE(users == saved_users) << servers << " servers";
  }

  for (int workers : {1, 3}) {
    Rows users;
    for (int w = 0; w < workers; ++w) {
      table::EmbeddingTable table(UserSpec(job), job.training().seed());
      ASSERT_TRUE(checkpoint::LoadLocalRows(*checkpoint, models::kUserTable, w, workers, &table).ok());
      table.ForEachRow([&](uint64_t key, const float*, const float*) {
        EXPECT_EQ(PartitionOfUser(key, workers), w);
      });
      AddRows(table, &users);
    }
    EXPECT_TRUE(users == saved_users) << workers << " workers";
  }
}

// --resume (PrepareRun) skips a newest checkpoint that is damaged, whichever way.
TEST_F(CheckpointResumeTest, ResumeSkipsACorruptNewestCheckpoint) {
  config::JobConfig job = SmallJob(2, 1, 2);
  job.mutable_checkpoint()->set_dir(CheckpointDir());
  ASSERT_TRUE(Run(job).ok());
  Result<std::vector<checkpoint::CheckpointListing>> listed = checkpoint::ListCheckpoints(CheckpointDir());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  const std::string older = (*listed)[0].path, newest = (*listed)[1].path;
  const fs::path pristine = root_ / "pristine";
  fs::copy(newest, pristine, fs::copy_options::recursive);
  const std::string config_path = (root_ / "job.textproto").string();
  std::ofstream(config_path) << EffectiveConfigText(job);

  using Damage = void (*)(const fs::path&);
  const std::vector<std::pair<const char*, Damage>> damages = {
      {"truncated shard", [](const fs::path& d) { fs::resize_file(d / "item-1.rows", 100); }},
      {"flipped byte",
       [](const fs::path& d) {
         std::fstream f(d / "item-0.rows", std::ios::in | std::ios::out | std::ios::binary);
         f.seekp(200);
         char c = 0;
         f.read(&c, 1);
         f.seekp(200);
         c ^= 0x20;
         f.write(&c, 1);
       }},
      {"missing manifest", [](const fs::path& d) { fs::remove(d / "MANIFEST"); }},
      {"flipped manifest bit",
       [](const fs::path& d) {
         std::fstream f(d / "MANIFEST", std::ios::in | std::ios::out | std::ios::binary);
         f.seekp(30);
         char c = 0;
         f.read(&c, 1);
         f.seekp(30);
         c ^= 0x01;
         f.write(&c, 1);
       }},
      {"empty manifest", [](const fs::path& d) { fs::resize_file(d / "MANIFEST", 0); }},
  };
  for (const auto& [what, damage] : damages) {
    fs::remove_all(newest);
    fs::copy(pristine, newest, fs::copy_options::recursive);
    damage(newest);
    CommonJobFlags flags;
    flags.config_path = config_path;
    flags.resume = true;
    Result<RunSetup> setup = PrepareRun(flags, /*reporter=*/false);
    ASSERT_TRUE(setup.ok()) << what << ": " << setup.status().message();
    EXPECT_EQ(setup->resume_from, older) << what;
    // And training goes on from there.
    config::JobConfig more = job;
    more.mutable_training()->set_epochs(3);
    more.mutable_checkpoint()->clear_dir();
    Result<SimulationResult> resumed = Run(more, setup->resume_from);
    ASSERT_TRUE(resumed.ok()) << what << ": " << resumed.status().message();
    ASSERT_EQ(resumed->history.size(), 2u) << what;
    EXPECT_EQ(resumed->history.front().epoch, 2) << what;
  }
}

TEST_F(CheckpointResumeTest, ResumeWithoutAValidCheckpointIsAClearError) {
  const std::string config_path = (root_ / "job.textproto").string();
  fs::create_directories(root_ / "ckpt");
  config::JobConfig job = SmallJob(1, 1, 1);
  job.mutable_checkpoint()->set_dir(CheckpointDir());
  std::ofstream(config_path) << EffectiveConfigText(job);
  CommonJobFlags flags;
  flags.config_path = config_path;
  flags.resume = true;
  Result<RunSetup> setup = PrepareRun(flags, false);
  ASSERT_FALSE(setup.ok());
  EXPECT_NE(setup.status().message().find("no valid checkpoint"), std::string::npos)
      << setup.status().message();
  flags.resume = false;
  flags.resume_from = (root_ / "nope").string();
  setup = PrepareRun(flags, false);
  ASSERT_FALSE(setup.ok());
  EXPECT_NE(setup.status().message().find("nope"), std::string::npos);
}

TEST_F(CheckpointResumeTest, AFailedBackgroundWriteFailsTheJobNamingServerAndFile) {
  config::JobConfig job = SmallJob(2, 2, 3);
  job.mutable_checkpoint()->set_dir(CheckpointDir());
  SimulationOptions options;
  options.job = job;
  options.print_epochs = false;
  options.checkpoint_fault_server = 1;
  options.checkpoint_faults.stop_after_bytes = 100;  // inside user-1.rows of the first one
  Result<SimulationResult> result = RunSimulation(options);
  ASSERT_FALSE(result.ok());
  const std::string& message = result.status().message();
  EXPECT_NE(message.find("server 1"), std::string::npos) << message;
  EXPECT_NE(message.find("user-1.rows"), std::string::npos) << message;
  // Nothing claims to be a checkpoint.
  Result<std::vector<checkpoint::CheckpointListing>> listed = checkpoint::ListCheckpoints(CheckpointDir());
  ASSERT_TRUE(listed.ok());
  for (const auto& c : *listed) EXPECT_FALSE(c.valid) << c.name;
}

}  // namespace
}  // namespace psrec::cli
