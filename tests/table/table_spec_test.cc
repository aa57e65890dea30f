#include "table/table_spec.h"

#include <gtest/gtest.h>

#include "common/config.h"

namespace psrec {
namespace {

TEST(TableSpecTest, UserAndItemFromJob) {
  Result<config::JobConfig> job = ParseJobConfig(
      "data { synthetic {} }\n"
      "model { dim: 8 init_std: 0.05 }\n"
      "user_table { placement: LOCAL optimizer { kind: ADAGRAD learning_rate: 0.1 } }\n"
      "item_table { optimizer { kind: SGD learning_rate: 0.02 } }\n",
      "test", {});
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  std::vector<TableSpec> specs = TableSpecsForJob(*job);
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

TEST(TableSpecTest, DefaultsFollowSchema) {
  std::vector<TableSpec> specs = TableSpecsForJob(config::JobConfig());
  EXPECT_EQ(specs[0].dim, 33);
  EXPECT_FLOAT_EQ(specs[0].init_std, 0.1f);
  EXPECT_EQ(specs[0].placement, config::TableConfig::REMOTE);
}

}  // namespace
}  // namespace psrec
