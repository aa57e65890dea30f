// Evaluation leaves the model as training made it (issue 14, point 3): a job whose test set
// has users and items that training never saw ends with a checkpoint holding exactly the
// trained rows, for REMOTE and LOCAL user rows, under GRADIENTS and DELTAS.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_reader.h"
#include "common/config.h"
#include "models/mf/biased_mf.h"
#include "models/model_tables.h"
#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kTrainUsers = 40;
constexpr int kTrainItems = 30;

int Rating(int user, int item) { return 1 + (user * 3 + item * 5) % 5; }

// Train: users 1..40 rate 12 items each, covering items 1..30. Test: 2 more ratings of each
// trained user on trained items, users 41..45 (test only) on items 1..3, and users 1..5 on
// items 31..34 (test only).
void WriteData(const fs::path& train, const fs::path& test) {
  std::ofstream train_out(train), test_out(test);
  for (int u = 1; u <= kTrainUsers; ++u) {
    for (int j = 0; j < 14; ++j) {
      const int item = (u * 7 + j) % kTrainItems + 1;
      (j < 12 ? train_out : test_out) << u << '\t' << item << '\t' << Rating(u, item) << "\t0\n";
    }
  }
  for (int u = kTrainUsers + 1; u <= kTrainUsers + 5; ++u) {
    for (int item = 1; item <= 3; ++item) test_out << u << '\t' << item << "\t3\t0\n";
  }
  for (int u = 1; u <= 5; ++u) {
    for (int item = kTrainItems + 1; item <= kTrainItems + 4; ++item) {
      test_out << u << '\t' << item << "\t4\t0\n";
    }
  }
}

class ReadOnlyEvalTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("psrec_read_only_eval_" + std::to_string(getpid()) + "_" +
             testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    WriteData(root_ / "train.tsv", root_ / "test.tsv");
  }
  void TearDown() override { fs::remove_all(root_); }

  config::JobConfig Job(config::TableConfig::Placement placement, config::UpdateMode mode,
                        const std::string& name) const {
    config::JobConfig job = SmallJob(/*servers=*/2, /*workers=*/2);
    job.mutable_data()->Clear();
    job.mutable_data()->set_train_path((root_ / "train.tsv").string());
    job.mutable_data()->set_test_path((root_ / "test.tsv").string());
    job.mutable_data()->set_format(config::MOVIELENS_TSV);
    job.mutable_data()->mutable_split()->set_kind(config::SplitConfig::GIVEN);
    job.mutable_data()->set_min_rating(1);
    job.mutable_data()->set_max_rating(5);
    job.mutable_training()->set_epochs(3);
    job.mutable_training()->set_batch_size(32);
    job.mutable_training()->set_eval_train_sample(0);
    job.mutable_training()->set_update_mode(mode);
    models::MutableTableConfig(&job, "user")->set_placement(placement);
    job.mutable_checkpoint()->set_dir((root_ / name).string());
    job.mutable_checkpoint()->set_every_epochs(1);
    return job;
  }

  fs::path root_;
};

// Distinct keys of `table` in a checkpoint; a key twice fails the test.
std::set<uint64_t> KeysOf(const checkpoint::LoadedCheckpoint& ckpt, TableId table) {
  std::set<uint64_t> keys;
  size_t rows = 0;
  EXPECT_TRUE(checkpoint::ForEachCheckpointRow(ckpt, table,
                                               [&](uint64_t key, const float*, const float*) {
                                                 keys.insert(key);
                                                 ++rows;
                                               })
                  .ok());
  EXPECT_EQ(rows, keys.size());
  return keys;
}

TEST_F(ReadOnlyEvalTest, CheckpointHoldsExactlyTheTrainedRows) {
  for (auto placement : {config::TableConfig::REMOTE, config::TableConfig::LOCAL}) {
    for (auto mode : {config::GRADIENTS, config::DELTAS}) {
      const std::string what =
          std::string(placement == config::TableConfig::LOCAL ? "LOCAL" : "REMOTE") + " " +
          config::UpdateMode_Name(mode);
      const std::string name = std::string("ckpt_") + (placement == config::TableConfig::LOCAL
                                                           ? "local_"
                                                           : "remote_") +
                               config::UpdateMode_Name(mode);
      Result<SimulationResult> result = RunJob(Job(placement, mode, name));
      ASSERT_TRUE(result.ok()) << what << ": " << result.status().message();
      ASSERT_EQ(result->history.size(), 3u) << what;
      EXPECT_TRUE(std::isfinite(result->history.back().test_rmse)) << what;

      Result<std::string> latest = checkpoint::LatestValidCheckpoint((root_ / name).string());
      ASSERT_TRUE(latest.ok()) << what << ": " << latest.status().message();
      Result<checkpoint::LoadedCheckpoint> ckpt = checkpoint::ReadCheckpoint(*latest);
      ASSERT_TRUE(ckpt.ok()) << what << ": " << ckpt.status().message();
      EXPECT_EQ(KeysOf(*ckpt, models::kUserTable).size(), size_t{kTrainUsers}) << what;
      EXPECT_EQ(KeysOf(*ckpt, models::kItemTable).size(), size_t{kTrainItems}) << what;
      EXPECT_EQ(ckpt->FindTable(models::kUserTable)->rows(), uint64_t{kTrainUsers}) << what;
      EXPECT_EQ(ckpt->FindTable(models::kItemTable)->rows(), uint64_t{kTrainItems}) << what;
    }
  }
}

}  // namespace
}  // namespace psrec::cli
