// Evaluation is read-only: users and items without a row are scored with the model's
// cold-start row (biased MF: zeros, so mu + b_u, mu + b_i or mu) and no row is created.
#include "train/evaluator.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "models/mf/biased_mf.h"

namespace psrec::train {
namespace {

TableSpec Spec(TableId id, const char* name, int dim) {
  TableSpec spec;
  spec.id = id;
  spec.name = name;
  spec.dim = dim;
  spec.init_std = 0.1f;
  spec.zero_tail = 1;
  spec.optimizer.set_kind(config::OptimizerConfig::SGD);
  return spec;
}

TEST(EvaluatorTest, UnknownUsersAndItemsScoreByTheColdStartRuleAndCreateNoRows) {
  config::ModelConfig model_config;
  model_config.set_dim(2);
  models::BiasedMf model(model_config);
  ASSERT_TRUE(model.RestoreScalars({{"global_mean", 3.0}}).ok());
  LocalTableAccess users(Spec(models::kUserTable, "user", 3), 1);
  LocalTableAccess items(Spec(models::kItemTable, "item", 3), 1);
  // Rows: factors, then the bias.
  const float user_row[3] = {0.5f, -0.25f, 0.4f};
  const float item_row[3] = {0.2f, 0.6f, -0.3f};
  users.local_table()->UpsertRow(101, user_row, nullptr);
  items.local_table()->UpsertRow(201, item_row, nullptr);

  // Dense users {101 known, 102 unknown}, items {201 known, 202 unknown}: every pairing.
  const std::vector<uint64_t> user_ids = {101, 102}, item_ids = {201, 202};
  const std::vector<uint32_t> user_index = {0, 0, 1, 1}, item_index = {0, 1, 0, 1};
  const std::vector<float> rating = {4.0f, 2.0f, 5.0f, 1.0f};
  data::RatingsShard shard;
  shard.user_ids = user_ids;
  shard.item_ids = item_ids;
  shard.user_index = user_index;
  shard.item_index = item_index;
  shard.rating = rating;

  EvalOptions options;
  options.model = &model;
  options.min_rating = 1;
  options.max_rating = 5;
  Result<ErrorSums> sums = EvaluateRatings(shard, &users, &items, options);
  ASSERT_TRUE(sums.ok()) << sums.status().ToString();

  const double dot = 0.5 * 0.2 + -0.25 * 0.6;
  const double predicted[4] = {3.0 + 0.4 - 0.3 + dot,  // both known
                               3.0 + 0.4,              // unknown item: mu + b_u
                               3.0 - 0.3,              // unknown user: mu + b_i
                               3.0};                   // neither: mu
  double squared = 0, absolute = 0;
  for (int i = 0; i < 4; ++i) {
    squared += (predicted[i] - rating[i]) * (predicted[i] - rating[i]);
    absolute += std::abs(predicted[i] - rating[i]);
  }
  EXPECT_EQ(sums->count, 4.0);
  EXPECT_NEAR(sums->squared, squared, 1e-5);
  EXPECT_NEAR(sums->absolute, absolute, 1e-5);
  EXPECT_EQ(users.local_table()->size(), 1u);
  EXPECT_EQ(items.local_table()->size(), 1u);
}

TEST(EvaluatorTest, BiasedMfColdStartRowIsZeros) {
  config::ModelConfig model_config;
  model_config.set_dim(4);
  models::BiasedMf model(model_config);
  for (int table = 0; table < 2; ++table) {
    std::vector<float> row(5, 9.0f);
    model.ColdStartRow(table, row.data());
    EXPECT_EQ(row, std::vector<float>(5, 0.0f));
  }
}

}  // namespace
}  // namespace psrec::train
