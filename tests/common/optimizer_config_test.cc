// The OptimizerConfig fields of Adam and FTRL: defaults, ranges and the FTRL lr_decay rule,
// each error naming the table's field and where it was set.
#include <gtest/gtest.h>

#include <string>

#include "common/config.h"

namespace psrec {
namespace {

const std::string kMinimal = "data { train_path: \"ratings.tsv\" }\n";

TEST(OptimizerConfigTest, AdamWithLearningRateOnlyParsesWithThePaperDefaults) {
  auto job = ParseJobConfig(
      kMinimal + "tables { name: \"item\" optimizer { kind: ADAM learning_rate: 0.001 } }\n",
      "job.textproto", {});
  ASSERT_TRUE(job.ok()) << job.status().message();
  const config::OptimizerConfig& adam = job->tables(0).optimizer();
  EXPECT_EQ(adam.kind(), config::OptimizerConfig::ADAM);
  EXPECT_FLOAT_EQ(adam.learning_rate(), 0.001f);
  EXPECT_FLOAT_EQ(adam.beta1(), 0.9f);
  EXPECT_FLOAT_EQ(adam.beta2(), 0.999f);
  EXPECT_FLOAT_EQ(adam.epsilon(), 1e-8f);
  auto ftrl = ParseJobConfig(kMinimal, "j",
                             {"tables.user.optimizer.kind=FTRL", "tables.user.optimizer.ftrl_l1=0.5"});
  ASSERT_TRUE(ftrl.ok()) << ftrl.status().message();
  EXPECT_EQ(ftrl->tables(0).optimizer().kind(), config::OptimizerConfig::FTRL);
  EXPECT_FLOAT_EQ(ftrl->tables(0).optimizer().ftrl_beta(), 1.0f);
  EXPECT_FLOAT_EQ(ftrl->tables(0).optimizer().ftrl_l1(), 0.5f);
}

TEST(OptimizerConfigTest, BetasMustLieInZeroToOne) {
  auto one = ParseJobConfig(
      kMinimal + "tables {\n  name: \"item\"\n  optimizer { kind: ADAM beta1: 1 }\n}\n",
      "job.textproto", {});
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.status().message(),
            "job.textproto:4:26: tables.item.optimizer.beta1: value 1 is outside [0, 1)");
  auto negative = ParseJobConfig(kMinimal, "j", {"tables.user.optimizer.beta2=-0.1"});
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find(
                "--set tables.user.optimizer.beta2=-0.1: tables.user.optimizer.beta2: value "
                "-0.1 is outside [0, 1)"),
            std::string::npos)
      << negative.status().message();
  EXPECT_TRUE(ParseJobConfig(kMinimal, "j", {"tables.user.optimizer.beta1=0"}).ok());
  for (const char* field : {"ftrl_beta", "ftrl_l1", "ftrl_l2"}) {
    const std::string set = std::string("tables.item.optimizer.") + field + "=-1";
    auto bad = ParseJobConfig(kMinimal, "j", {set});
    ASSERT_FALSE(bad.ok()) << field;
    EXPECT_NE(bad.status().message().find(std::string("optimizer.") + field +
                                          ": value -1 is outside [0, inf)"),
              std::string::npos)
        << bad.status().message();
  }
}

TEST(OptimizerConfigTest, FtrlRefusesADecayingLearningRate) {
  auto job = ParseJobConfig(
      kMinimal + "tables { name: \"item\"\n  optimizer { kind: FTRL lr_decay: 0.9 } }\n",
      "job.textproto", {});
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().message().rfind("job.textproto:3:26: ", 0), 0u) << job.status().message();
  EXPECT_NE(job.status().message().find("tables.item.optimizer.lr_decay: must be 1 with kind FTRL"),
            std::string::npos)
      << job.status().message();
  // The same decay is fine for Adam (the per-push rate), and FTRL without a decay is fine.
  EXPECT_TRUE(ParseJobConfig(kMinimal, "j", {"tables.item.optimizer.kind=ADAM",
                                             "tables.item.optimizer.lr_decay=0.9"})
                  .ok());
  EXPECT_TRUE(ParseJobConfig(kMinimal, "j", {"tables.item.optimizer.kind=FTRL"}).ok());
}

}  // namespace
}  // namespace psrec
