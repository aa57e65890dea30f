// The packed dot-product kernel (models/dot_scores.h) against each model's own Score, at
// sizes that leave short user tiles and short item panels.
#include "models/dot_scores.h"

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "models/registry.h"

namespace psrec::models {
namespace {

void ExpectScoresMatch(const config::ModelConfig& config, size_t n_users, size_t n_items) {
  auto created = CreateModel(config);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Model& model = **created;
  if (config.type() == config::ModelConfig::BIASED_MF) {
    ASSERT_TRUE(model.RestoreScalars({{"global_mean", 3.5}}).ok());
  }
  const std::optional<DotForm> form = model.dot_form();
  ASSERT_TRUE(form.has_value());
  const size_t user_stride = static_cast<size_t>(model.table_of_field(0).payload_floats);
  const size_t item_stride = static_cast<size_t>(model.table_of_field(1).payload_floats);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::vector<float> users(n_users * user_stride), items(n_items * item_stride);
  for (float& v : users) v = normal(rng);
  for (float& v : items) v = normal(rng);
  const PackedItems packed(*form, items.data(), item_stride, n_items);
  std::vector<float> out(n_users * n_items, -1e30f);
  ScoreUsers(users.data(), user_stride, n_users, packed, out.data());
  for (size_t u = 0; u < n_users; ++u) {
    for (size_t i = 0; i < n_items; ++i) {
      const float* rows[2] = {users.data() + u * user_stride, items.data() + i * item_stride};
      // Float rounding only: the kernel may sum the k products with FMA.
      EXPECT_NEAR(out[u * n_items + i], model.Score(rows), 1e-4f) << "user " << u << " item " << i;
    }
  }
}

TEST(DotScoresTest, BiasedMfMatchesScoreWithBiasesAndGlobalMean) {
  config::ModelConfig config;
  config.set_type(config::ModelConfig::BIASED_MF);
  config.set_dim(13);
  ExpectScoresMatch(config, 11, 37);
}

TEST(DotScoresTest, BprMatchesScoreAtTheCommonDim) {
  config::ModelConfig config;
  config.set_type(config::ModelConfig::BPR_MF);
  config.set_dim(32);
  ExpectScoresMatch(config, 17, 48);
}

TEST(DotScoresTest, LogisticMfWithItemBiasMatchesScore) {
  config::ModelConfig config;
  config.set_type(config::ModelConfig::LOGISTIC_MF);
  config.set_dim(5);
  config.set_item_bias(true);
  ExpectScoresMatch(config, 3, 1);
}

}  // namespace
}  // namespace psrec::models
