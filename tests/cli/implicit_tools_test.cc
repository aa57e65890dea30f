// BPR-MF and logistic MF checkpoints through the tools (psrec recommend / ckpt topk /
// ckpt similar): scores come from the model (ScoreBlock), seen items are left out; and the
// ranking evaluation of an implicit job repeats exactly (1 worker BSP: 1 and 3 servers, two
// runs with one seed).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "checkpoint/checkpoint_catalog.h"
#include "checkpoint/checkpoint_reader.h"
#include "cli/commands.h"
#include "cli/simulation.h"
#include "common/config.h"
#include "common/json.h"
#include "common/keys.h"
#include "models/model_tables.h"
#include "models/registry.h"

namespace psrec::cli {
namespace {

namespace fs = std::filesystem;

struct ToolRun {
  int code;
  std::string out;
  std::string err;
};

ToolRun Tool(int (*command)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = command(static_cast<int>(argv.size()), argv.data());
  return {code, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
}

class ImplicitToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("psrec_implicit_tools_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    // 40 users x 60 items, 10 distinct items each, user u favouring items near 1.5 u.
    std::mt19937 rng(5);
    std::ofstream train(root_ / "train.tsv"), test(root_ / "test.tsv");
    for (int u = 1; u <= 40; ++u) {
      std::set<int> items;
      std::normal_distribution<double> near(1.5 * u, 4);
      while (items.size() < 11) {
        const int item = static_cast<int>(std::lround(near(rng)));
        if (item >= 1 && item <= 60) items.insert(item);
      }
      int n = 0;
      for (int item : items) {
        const bool held_out = n == 5;  // one test item per user, the rest is training
        (held_out ? test : train) << u << "\t" << item << "\t5\t" << 100 + n << "\n";
        if (!held_out) seen_[u].insert(item);
        ++n;
      }
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  config::JobConfig Job(config::ModelConfig::Type type) const {
    const std::string data = "data { train_path: '" + (root_ / "train.tsv").string() +
                             "' test_path: '" + (root_ / "test.tsv").string() + "'";
    Result<config::JobConfig> job = ParseJobConfig(data + R"pb(
      format: MOVIELENS_TSV split { kind: GIVEN } implicit { negatives_per_positive: 2 } }
      model { dim: 8 l2_factors: 0.01 init_std: 0.1 }
      tables { name: "user" optimizer { kind: SGD learning_rate: 0.1 } }
      tables { name: "item" optimizer { kind: SGD learning_rate: 0.1 } }
      training { epochs: 20 batch_size: 32 seed: 7 }
      evaluation { protocol: LEAVE_ONE_OUT k: 5 negatives: 20 }
      output { progress: OFF }
    )pb", "implicit-tools", {});
    EXPECT_TRUE(job.ok()) << job.status().message();
    job->mutable_model()->set_type(type);
    job->mutable_cluster()->set_servers(2);
    job->mutable_cluster()->set_workers(1);
    return *job;
  }

  fs::path root_;
  std::map<int, std::set<int>> seen_;  // training items by user
};

// Trains `type`, then checks recommend / ckpt topk / ckpt similar on its checkpoint.
void ToolsServe(const config::JobConfig& trained, const fs::path& root,
                const std::map<int, std::set<int>>& seen) {
  config::JobConfig job = trained;
  job.mutable_checkpoint()->set_dir((root / "ckpt").string());
  job.mutable_checkpoint()->set_every_epochs(0);
  SimulationOptions options;
  options.job = job;
  options.print_epochs = false;
  Result<SimulationResult> result = RunSimulation(options);
  ASSERT_TRUE(result.ok()) << result.status().message();
  Result<std::string> latest = checkpoint::LatestValidCheckpoint((root / "ckpt").string());
  ASSERT_TRUE(latest.ok()) << latest.status().message();

  // The model's own scores of user 3 against every item, from the checkpoint's rows.
  Result<checkpoint::LoadedCheckpoint> ckpt = checkpoint::ReadCheckpoint(*latest);
  ASSERT_TRUE(ckpt.ok());
  Result<models::JobModel> jm = models::ModelForJob(job);
  ASSERT_TRUE(jm.ok());
  const models::Model& model = *jm->model;
  std::map<uint64_t, std::vector<float>> users, items;
  for (auto [table, rows] : {std::pair(0, &users), std::pair(1, &items)}) {
    const int floats = model.tables()[static_cast<size_t>(table)].payload_floats;
    ASSERT_TRUE(checkpoint::ForEachCheckpointRow(
                    *ckpt, static_cast<TableId>(table),
                    [&](uint64_t key, const float* p, const float*) {
                      (*rows)[key].assign(p, p + floats);
                    })
                    .ok());
  }
  const std::vector<float>& user = users.at(KeyOfRawId("3"));
  std::map<uint64_t, float> expected;
  for (const auto& [key, row] : items) {
    const float* rows[2] = {user.data(), row.data()};
    expected[key] = model.Score(rows);
  }

  const std::string dir = *latest;
  ToolRun all = Tool(RunRecommendCommand,
                     {"recommend", dir, "--user", "3", "-k", "100", "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  const Json listed = Json::parse(all.out);
  ASSERT_EQ(listed.size(), items.size()) << "k larger than the catalogue lists every item";
  double previous = 1e30;
  for (const Json& entry : listed) {
    const uint64_t key = KeyOfRawId(entry["id"].get<std::string>());
    const double score = entry["score"].get<double>();
    EXPECT_NEAR(score, expected.at(key), 1e-4) << entry.dump();
    EXPECT_LE(score, previous) << "descending";
    previous = score;
  }

  const std::string seen_file = (root / "train.tsv").string();
  ToolRun unseen = Tool(RunCkptCommand, {"ckpt", "topk", dir, "--user", "3", "-k", "100",
                                         "--json", "--exclude-seen", seen_file});
  ASSERT_EQ(unseen.code, 0) << unseen.err;
  const Json kept = Json::parse(unseen.out);
  EXPECT_EQ(kept.size(), items.size() - seen.at(3).size());
  for (const Json& entry : kept) {
    const int id = std::stoi(entry["id"].get<std::string>());
    EXPECT_FALSE(seen.at(3).contains(id)) << "seen item " << id << " recommended";
  }
  // The best unseen item is the first of the full list that user 3 has not seen.
  for (const Json& entry : listed) {
    if (seen.at(3).contains(std::stoi(entry["id"].get<std::string>()))) continue;
    EXPECT_EQ(entry["id"], kept[0]["id"]);
    break;
  }

  ToolRun similar = Tool(RunCkptCommand, {"ckpt", "similar", dir, "--item", "5", "-k", "3",
                                          "--json"});
  ASSERT_EQ(similar.code, 0) << similar.err;
  const Json near = Json::parse(similar.out);
  ASSERT_EQ(near.size(), 3u);
  for (const Json& entry : near) {
    EXPECT_NE(entry["id"], "5");
    EXPECT_LE(entry["cosine"].get<double>(), 1.0 + 1e-6);
  }
}

TEST_F(ImplicitToolsTest, BprCheckpointServesRecommendTopkAndSimilar) {
  ToolsServe(Job(config::ModelConfig::BPR_MF), root_, seen_);
}

TEST_F(ImplicitToolsTest, LogisticCheckpointServesRecommendTopkAndSimilar) {
  ToolsServe(Job(config::ModelConfig::LOGISTIC_MF), root_, seen_);
}

// One worker under BSP: the ranking figures of every epoch are the same with 1 and 3
// servers, and twice with one seed.
TEST_F(ImplicitToolsTest, RankingFiguresRepeatAndAreIndependentOfServers) {
  for (auto type : {config::ModelConfig::BPR_MF, config::ModelConfig::LOGISTIC_MF}) {
    config::JobConfig one = Job(type);
    one.mutable_cluster()->set_servers(1);
    one.mutable_training()->set_consistency(config::BSP);
    one.mutable_training()->set_pipeline_depth(1);
    one.mutable_training()->set_epochs(4);
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
    ASSERT_EQ(a->history.size(), 4u);
    for (size_t e = 0; e < 4; ++e) {
      const auto& figures = a->history[e].ranking;
      ASSERT_FALSE(figures.empty()) << "a ranking model is evaluated by ranking";
      EXPECT_EQ(figures, again->history[e].ranking) << "epoch " << e + 1;
      EXPECT_EQ(figures, b->history[e].ranking) << "epoch " << e + 1;
    }
    EXPECT_EQ(a->history.back().ranking.back().first, "test_cases");
    EXPECT_EQ(a->history.back().ranking.back().second, 40);
  }
}

}  // namespace
}  // namespace psrec::cli
