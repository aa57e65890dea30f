// BPR-MF and logistic MF ScoreBlock (the Eigen product of models/dot_score_block.h) against
// Score per (user, item) pair, with row strides wider than the payload (optimizer state
// after each row, as pulled rows and checkpoint tools lay them out).
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "models/bpr/bpr_mf.h"
#include "models/logistic/logistic_mf.h"

namespace psrec::models {
namespace {

std::vector<float> Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0, 0.5f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

void ExpectBlockMatchesScore(const Model& model, size_t user_stride, size_t item_stride) {
  const size_t n_users = 5, n_items = 7;
  const std::vector<float> users = Random(n_users * user_stride, 3);
  const std::vector<float> items = Random(n_items * item_stride, 4);
  std::vector<float> block(n_users * n_items, -1.0f);
  model.ScoreBlock(users.data(), user_stride, n_users, items.data(), item_stride, n_items,
                   block.data());
  for (size_t u = 0; u < n_users; ++u) {
    for (size_t i = 0; i < n_items; ++i) {
      const float* rows[2] = {users.data() + u * user_stride, items.data() + i * item_stride};
      EXPECT_NEAR(block[u * n_items + i], model.Score(rows), 1e-5f) << "user " << u << " item " << i;
    }
  }
}

config::ModelConfig Config(int dim, bool item_bias) {
  config::ModelConfig config;
  config.set_dim(dim);
  config.set_item_bias(item_bias);
  return config;
}

TEST(ImplicitScoreBlockTest, BprMatchesScore) {
  BprMf model(Config(6, false));
  ExpectBlockMatchesScore(model, 6, 6);
  ExpectBlockMatchesScore(model, 12, 9);  // AdaGrad state or padding after the payload
  BprMf biased(Config(6, true));
  ExpectBlockMatchesScore(biased, 6, 7);
  ExpectBlockMatchesScore(biased, 12, 14);
}

TEST(ImplicitScoreBlockTest, LogisticMatchesScoreWithAndWithoutItemBias) {
  LogisticMf plain(Config(6, false));
  ExpectBlockMatchesScore(plain, 6, 6);
  LogisticMf biased(Config(6, true));
  // The bias sits right after the item's factors; the stride covers optimizer state too.
  ExpectBlockMatchesScore(biased, 6, 7);
  ExpectBlockMatchesScore(biased, 12, 14);
}

TEST(ImplicitScoreBlockTest, ItemBiasChangesTheBlock) {
  // A block that ignored the bias would equal the plain model's: the test above could not
  // tell. Here every item has bias 2 and zero factors, so every score is exactly 2.
  LogisticMf biased(Config(3, true));
  std::vector<float> users = Random(2 * 3, 5);
  std::vector<float> items(4 * 4, 0.0f);
  for (size_t i = 0; i < 4; ++i) items[i * 4 + 3] = 2.0f;
  std::vector<float> block(2 * 4);
  biased.ScoreBlock(users.data(), 3, 2, items.data(), 4, 4, block.data());
  for (float s : block) EXPECT_FLOAT_EQ(s, 2.0f);
}

}  // namespace
}  // namespace psrec::models
