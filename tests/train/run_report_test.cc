// RunReport's files read back with a strict JSON parser: field names and order, null for
// figures JSON cannot hold, a run directory whose name needs escaping, errors naming the file.
#include "train/run_report.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/json.h"

namespace psrec::train {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Keys(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

std::vector<std::string> Lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

EpochMetrics Epoch(int epoch) {
  EpochMetrics m;
  m.epoch = epoch;
  m.train_loss = 0.1 + 0.2;  // 0.30000000000000004: written with 10 digits
  m.train_rmse = 0.95;
  m.test_rmse = std::numeric_limits<double>::quiet_NaN();  // no test set
  m.test_mae = std::numeric_limits<double>::infinity();
  m.ratings = 80000;
  m.ratings_per_sec = 1.25e6;
  m.bytes_sent = 123456789012.0;
  m.learning_rate = 0.03;
  return m;
}

class RunReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(testing::TempDir()) /
            ("run_report_" +
             std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(RunReportTest, MetricsAndSummaryReadBackWithFieldsInOrder) {
  // A directory name with every character JSON must escape, and UTF-8.
  const fs::path dir = root_ / "run \"7\" back\\slash\nnewline caf\xc3\xa9";
  Result<RunReport> report = RunReport::Open(dir.string(), "model { dim: 4 }\n");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_TRUE(report->AppendEpoch(Epoch(1)).ok());
  EpochMetrics second = Epoch(2);
  second.checkpoint_pause_sec = 0.25;
  second.checkpoint_snapshot_sec = 0.125;
  ASSERT_TRUE(report->AppendEpoch(second).ok());
  ASSERT_TRUE(report->WriteSummary(second, 12.5, 2, 3).ok());

  const std::vector<std::string> lines = Lines(dir / "metrics.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  const Json first = Json::parse(lines[0]);
  // The order README promises (and readers of older runs may rely on).
  const std::vector<std::string> fields = {
      "epoch", "train_loss", "train_rmse", "test_rmse", "test_mae", "ratings",
      "ratings_per_sec", "epoch_sec", "eval_sec", "learning_rate", "bytes_sent",
      "bytes_received", "pull_wait_sec", "max_staleness"};
  EXPECT_EQ(Keys(first), fields);
  EXPECT_TRUE(first["test_rmse"].is_null());
  EXPECT_TRUE(first["test_mae"].is_null());
  EXPECT_NE(lines[0].find("\"train_loss\":0.3,"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"ratings_per_sec\":1250000,"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("\"bytes_sent\":123456789000,"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0], EpochMetricsJson(Epoch(1)));

  const Json with_checkpoint = Json::parse(lines[1]);
  EXPECT_EQ(with_checkpoint["checkpoint_pause_sec"], 0.25);
  EXPECT_EQ(Keys(with_checkpoint).back(), "checkpoint_snapshot_sec");

  const std::vector<std::string> summary = Lines(dir / "summary.json");
  ASSERT_EQ(summary.size(), 1u);
  const Json parsed = Json::parse(summary[0]);
  EXPECT_EQ(Keys(parsed), (std::vector<std::string>{"servers", "workers", "total_sec", "final"}));
  EXPECT_EQ(parsed["workers"], 3);
  EXPECT_EQ(parsed["total_sec"], 12.5);
  EXPECT_EQ(parsed["final"], with_checkpoint);
}

TEST_F(RunReportTest, AFailedWriteNamesTheFile) {
  const fs::path dir = root_ / "gone";
  Result<RunReport> report = RunReport::Open(dir.string(), "");
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  fs::remove_all(dir);
  Status s = report->WriteSummary(Epoch(1), 1.0, 1, 1);
  EXPECT_EQ(s.code(), Status::Code::kIoError);
  EXPECT_NE(s.message().find((dir / "summary.json").string()), std::string::npos) << s.message();
}

}  // namespace
}  // namespace psrec::train
