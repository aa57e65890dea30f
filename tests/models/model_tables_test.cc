#include "models/model_tables.h"

#include <cmath>

#include <gtest/gtest.h>

#include "common/config.h"
#include "models/mf/biased_mf.h"

namespace psrec::models {
namespace {

TEST(ModelTablesTest, UserAndItemFromJob) {
  Result<config::JobConfig> job = ParseJobConfig(
      "data { synthetic {} }\n"
      "model { dim: 8 init_std: 0.05 }\n"
      "tables { name: \"user\" placement: LOCAL optimizer { kind: ADAGRAD learning_rate: 0.1 } }\n"
      "tables { name: \"item\" optimizer { kind: SGD learning_rate: 0.02 } }\n",
      "test", {});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  std::vector<TableSpec> specs = TableSpecsForJob(*job).value();
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].id, kUserTable);
  EXPECT_EQ(specs[0].name, "user");
  EXPECT_EQ(specs[0].dim, 9);  // 8 factors + bias
  EXPECT_FLOAT_EQ(specs[0].init_std, 0.05f);
  EXPECT_EQ(specs[0].zero_tail, 1);
  EXPECT_EQ(specs[0].placement, config::TableConfig::LOCAL);
  EXPECT_EQ(specs[0].optimizer.kind(), config::OptimizerConfig::ADAGRAD);
  EXPECT_FLOAT_EQ(specs[0].optimizer.learning_rate(), 0.1f);
  EXPECT_EQ(specs[1].id, kItemTable);
  EXPECT_EQ(specs[1].name, "item");
  EXPECT_EQ(specs[1].dim, 9);
  EXPECT_EQ(specs[1].placement, config::TableConfig::REMOTE);
  EXPECT_EQ(specs[1].optimizer.kind(), config::OptimizerConfig::SGD);
}

TEST(ModelTablesTest, DefaultsFollowSchema) {
  std::vector<TableSpec> specs = TableSpecsForJob(config::JobConfig()).value();
  EXPECT_EQ(specs[0].dim, 33);
  EXPECT_FLOAT_EQ(specs[0].init_std, 0.1f);
  EXPECT_EQ(specs[0].placement, config::TableConfig::REMOTE);
}

TEST(ModelTablesTest, ConfigErrorsNameTheTable) {
  const std::string data = "data { synthetic {} }\n";
  Result<config::JobConfig> local_items =
      ParseJobConfig(data + "tables { name: \"item\" placement: LOCAL }", "j", {});
  ASSERT_TRUE(local_items.ok()) << local_items.status().ToString();
  Result<std::vector<TableSpec>> specs = TableSpecsForJob(*local_items);
  ASSERT_FALSE(specs.ok());
  EXPECT_NE(specs.status().message().find("tables.item.placement"), std::string::npos);

  Result<config::JobConfig> unknown =
      ParseJobConfig(data + "tables { name: \"users\" }", "j", {});
  ASSERT_TRUE(unknown.ok());
  specs = TableSpecsForJob(*unknown);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.status().message(),
            "tables.users: model biased_mf has no table 'users' (its tables: user, item)");
}

TEST(ModelTablesTest, SetPathsNameTables) {
  Result<config::JobConfig> job =
      ParseJobConfig("data { synthetic {} }", "j",
                     {"tables.user.placement=LOCAL", "tables.item.optimizer.learning_rate=0.5"});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  std::vector<TableSpec> specs = TableSpecsForJob(*job).value();
  EXPECT_EQ(specs[kUserTable].placement, config::TableConfig::LOCAL);
  EXPECT_FLOAT_EQ(specs[kItemTable].optimizer.learning_rate(), 0.5f);
  // Range rules apply to every named table and point at the override.
  Result<config::JobConfig> bad =
      ParseJobConfig("data { synthetic {} }", "j", {"tables.item.optimizer.learning_rate=0"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--set tables.item.optimizer.learning_rate=0: tables.item.optimizer.learning_rate: "
            "value 0 is outside (0, inf)");
}

TEST(ModelTablesTest, ConfigsWithTheOldTableFieldsGetAHint) {
  Result<config::JobConfig> old =
      ParseJobConfig("user_table { placement: LOCAL }", "old.textproto", {});
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("old.textproto:1:"), std::string::npos);
  EXPECT_NE(old.status().message().find("tables are named now"), std::string::npos);
}

TEST(ModelTablesTest, EveryTableInTheEffectiveConfig) {
  config::JobConfig job;
  MutableTableConfig(&job, "item")->set_placement(config::TableConfig::REMOTE);
  Result<JobModel> job_model = ModelForJob(job);
  ASSERT_TRUE(job_model.ok());
  config::JobConfig full = WithEveryTable(*job_model->model, job);
  ASSERT_EQ(full.tables_size(), 2);
  EXPECT_EQ(full.tables(0).name(), "item");
  EXPECT_EQ(full.tables(1).name(), "user");
}

TEST(ModelTablesTest, DenseTableSpecFromTheModelsParameters) {
  Result<config::JobConfig> job = ParseJobConfig(
      "data { synthetic {} }\n"
      "model { type: WEIGHTED_DOT dim: 8 }\n"
      "tables { name: \"dense\" optimizer { kind: ADAGRAD learning_rate: 0.1 } }\n",
      "test", {});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  std::vector<TableSpec> specs = TableSpecsForJob(*job).value();
  ASSERT_EQ(specs.size(), 3u);
  const TableSpec& dense = specs[2];
  EXPECT_EQ(dense.name, "dense");
  EXPECT_TRUE(dense.is_dense());
  EXPECT_FALSE(specs[0].is_dense());
  EXPECT_EQ(dense.dim, 4);             // the model's block
  EXPECT_EQ(dense.dense_floats, 9u);   // weight 1x8, bias 1x1
  EXPECT_EQ(dense.blocks(), 3u);
  EXPECT_EQ(dense.optimizer.kind(), config::OptimizerConfig::ADAGRAD);
  ASSERT_EQ(dense.dense.size(), 2u);
  EXPECT_EQ(dense.dense[0].offset, 0u);
  EXPECT_EQ(dense.dense[0].floats, 8u);
  EXPECT_EQ(dense.dense[0].distribution, DenseInitRun::Distribution::kUniform);
  EXPECT_FLOAT_EQ(dense.dense[0].scale, std::sqrt(6.0f / (8 + 1)));  // Xavier, fan 8 + 1
  EXPECT_EQ(dense.dense[1].offset, 8u);
  EXPECT_EQ(dense.dense[1].distribution, DenseInitRun::Distribution::kZero);
}

TEST(ModelTablesTest, DenseTablesCannotBeLocal) {
  Result<config::JobConfig> job = ParseJobConfig(
      "data { synthetic {} }\n"
      "model { type: WEIGHTED_DOT }\n"
      "tables { name: \"dense\" placement: LOCAL }\n",
      "test", {});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  Result<std::vector<TableSpec>> specs = TableSpecsForJob(*job);
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.status().message(),
            "tables.dense.placement: LOCAL is not for dense tables; 'dense' holds "
            "weighted_dot's dense weights, which every worker pulls whole and updates (use "
            "REMOTE)");
}

}  // namespace
}  // namespace psrec::models
