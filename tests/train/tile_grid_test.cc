// TileGrid and BatchSource with rating_order BY_TILE: the grid's layout (every rating once,
// a tile's ratings from one user block and one item block, by user), each epoch's order
// (every tile once, rounds sharing no block; the user-blocks order a user block's tiles
// together), batches (every rating once per epoch, repeatable from the seed; under the
// user-blocks order a user in about one batch per epoch).
#include "train/tile_grid.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include "train/batch_source.h"

namespace psrec::train {
namespace {

// `n` ratings of `users` users and 50 items; rating r has the value r (exact in a float).
data::RatingsShard Shard(size_t n, uint32_t users = 60) {
  data::RatingColumns c;
  for (uint64_t u = 0; u < users; ++u) c.user_ids.push_back(1000 + u);
  for (uint64_t i = 0; i < 50; ++i) c.item_ids.push_back(5000 + i);
  for (size_t r = 0; r < n; ++r) {
    c.user_index.push_back(static_cast<uint32_t>((r * 13 + r / 7) % users));
    c.item_index.push_back(static_cast<uint32_t>((r * 7 + r / 3) % 50));
    c.rating.push_back(static_cast<float>(r));
  }
  return data::ShardFromColumns(std::move(c));
}

TEST(TileGridTest, TilesHoldEveryRatingOnceFromOneUserAndOneItemBlock) {
  const data::RatingsShard shard = Shard(2000);
  std::vector<uint32_t> order(shard.size());
  std::iota(order.rbegin(), order.rend(), 0u);  // any order: reversed
  std::vector<data::PackedRating> packed;
  ASSERT_EQ(TileGrid::ItemBlocks(50, 12), 5u);  // ceil(50 / 12)
  const TileGrid grid = TileGrid::Build(order, shard, 5, 5, 99, &packed);
  ASSERT_EQ(grid.tiles(), 25u);
  ASSERT_EQ(packed.size(), shard.size());
  std::vector<int> seen(shard.size(), 0);
  std::vector<int> user_block(60, -1), item_block(50, -1);
  size_t covered = 0;
  for (uint32_t t = 0; t < 25; ++t) {
    ASSERT_EQ(grid.begin(t), covered);
    covered += grid.size(t);
    std::set<uint32_t> items;
    for (size_t k = grid.begin(t); k < grid.begin(t) + grid.size(t); ++k) {
      const data::PackedRating& r = packed[k];
      const size_t id = static_cast<size_t>(r.rating);
      ++seen[id];
      EXPECT_EQ(r.user, shard.user_index[id]);
      EXPECT_EQ(r.item, shard.item_index[id]);
      if (k > grid.begin(t)) {
        EXPECT_LE(packed[k - 1].user, r.user) << "tile " << t;
        // A user's ratings keep their order in `order` (reversed: descending ids).
        if (packed[k - 1].user == r.user) {
          EXPECT_GT(packed[k - 1].rating, r.rating);
        }
      }
      for (auto [block, of] : {std::pair(&user_block[r.user], t / 5), std::pair(&item_block[r.item], t % 5)}) {
        if (*block == -1) *block = static_cast<int>(of);
        EXPECT_EQ(*block, static_cast<int>(of)) << "a row in two blocks";
      }
      items.insert(r.item);
    }
    EXPECT_LE(items.size(), 12u);
  }
  EXPECT_EQ(covered, shard.size());
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(shard.size()));
  // User blocks are runs of dense indices with about equal ratings (2000 / 5 each).
  for (size_t u = 1; u < 60; ++u) EXPECT_LE(user_block[u - 1], user_block[u]);
  for (uint32_t ub = 0; ub < 5; ++ub) {
    size_t ratings = 0;
    for (uint32_t ib = 0; ib < 5; ++ib) ratings += grid.size(ub * 5 + ib);
    EXPECT_NEAR(static_cast<double>(ratings), 400.0, 2000.0 / 60 * 1.5);
  }
}

TEST(TileGridTest, EpochOrderVisitsEveryTileOnceInRoundsThatShareNoBlock) {
  const data::RatingsShard shard = Shard(500);
  std::vector<uint32_t> order(shard.size());
  std::iota(order.begin(), order.end(), 0u);
  std::vector<data::PackedRating> packed;
  const TileGrid grid = TileGrid::Build(order, shard, 4, 4, 3, &packed);
  std::vector<TileGrid::Visit> a, b, c;
  grid.EpochOrder(7, &a);
  grid.EpochOrder(7, &b);
  grid.EpochOrder(8, &c);
  EXPECT_EQ(a.size(), 16u);
  std::vector<int> tiles(16, 0);
  for (size_t v = 0; v < a.size(); ++v) {
    ++tiles[a[v].tile];
    EXPECT_EQ(a[v].round, v / 4);
    EXPECT_EQ(a[v].tile, b[v].tile);
  }
  EXPECT_EQ(std::count(tiles.begin(), tiles.end(), 1), 16);
  for (size_t round = 0; round < 4; ++round) {
    std::set<uint32_t> users, items;
    for (size_t j = 0; j < 4; ++j) {
      users.insert(a[round * 4 + j].tile / 4);
      items.insert(a[round * 4 + j].tile % 4);
    }
    EXPECT_EQ(users.size(), 4u);
    EXPECT_EQ(items.size(), 4u);
  }
  bool differs = false;
  for (size_t v = 0; v < a.size(); ++v) differs |= a[v].tile != c[v].tile;
  EXPECT_TRUE(differs) << "another seed, another order";
}

TEST(TileGridTest, UserBlockOrderKeepsABlocksTilesTogetherInRoundsThatShareNoBlock) {
  const data::RatingsShard shard = Shard(3000, 300);
  std::vector<uint32_t> order(shard.size());
  std::iota(order.begin(), order.end(), 0u);
  std::vector<data::PackedRating> packed;
  const size_t users = 7, items = 5;  // a rectangle; groups of 2 (the last one of 1)
  const TileGrid grid = TileGrid::Build(order, shard, users, items, 3, &packed);
  ASSERT_EQ(grid.tiles(), 35u);
  for (const size_t width : {1u, 2u}) {
    std::vector<TileGrid::Visit> a, b, c;
    grid.UserBlockOrder(7, width, &a);
    grid.UserBlockOrder(7, width, &b);
    grid.UserBlockOrder(8, width, &c);
    ASSERT_EQ(a.size(), 35u);
    std::vector<int> tiles(35, 0);
    std::vector<int> last_visit(users, -1), first_visit(users, -1);
    for (size_t v = 0; v < a.size(); ++v) {
      ++tiles[a[v].tile];
      EXPECT_EQ(a[v].tile, b[v].tile);
      EXPECT_EQ(a[v].round, b[v].round);
      if (v > 0) {
        EXPECT_LE(a[v - 1].round, a[v].round);
      }
      const size_t u = a[v].tile / items;
      if (first_visit[u] < 0) first_visit[u] = static_cast<int>(v);
      last_visit[u] = static_cast<int>(v);
    }
    EXPECT_EQ(std::count(tiles.begin(), tiles.end(), 1), 35);
    // A user block's tiles lie within its group's width x items visits.
    for (size_t u = 0; u < users; ++u) {
      EXPECT_LT(static_cast<size_t>(last_visit[u] - first_visit[u]), width * items) << u;
    }
    // Rounds: at most `width` tiles, no shared user block or item block.
    for (size_t v = 0; v < a.size();) {
      size_t end = v;
      std::set<uint32_t> round_users, round_items;
      while (end < a.size() && a[end].round == a[v].round) {
        round_users.insert(a[end].tile / items);
        round_items.insert(a[end].tile % items);
        ++end;
      }
      EXPECT_LE(end - v, width);
      EXPECT_EQ(round_users.size(), end - v);
      EXPECT_EQ(round_items.size(), end - v);
      v = end;
    }
    bool differs = false;
    for (size_t v = 0; v < a.size(); ++v) differs |= a[v].tile != c[v].tile;
    EXPECT_TRUE(differs) << "another seed, another order";
  }
}

config::TrainingConfig Tiled(int threads) {
  config::TrainingConfig training;
  training.set_seed(23);
  training.set_rating_order(config::BY_TILE);
  training.set_tile_item_rows(10);
  training.set_compute_threads(threads);
  training.set_eval_train_sample(100);
  return training;
}

std::vector<std::vector<float>> EpochBatches(BatchSource* source, int epoch) {
  source->StartEpoch(epoch);
  std::vector<std::vector<float>> batches;
  BatchPlan plan;
  for (size_t b = 0; b < static_cast<size_t>(source->batches_per_epoch()); ++b) {
    source->Plan(b, &plan, false);
    batches.push_back(plan.rating);
  }
  return batches;
}

TEST(TileGridTest, ByTileBatchesHoldEveryRatingOncePerEpochAndRepeat) {
  const size_t n = 3001;
  data::RatingsShard shard = Shard(n), again = Shard(n);
  const data::RatingsShard original = shard;
  BatchSource source(Tiled(1), 0, &shard, 7);
  BatchSource same(Tiled(1), 0, &again, 7);
  ASSERT_EQ(source.sample().size(), 100u);
  for (int epoch = 0; epoch < 3; ++epoch) {
    source.StartEpoch(epoch);
    std::vector<int> seen(n, 0);
    BatchPlan plan;
    for (size_t b = 0; b < 7; ++b) {
      source.Plan(b, &plan, false);
      EXPECT_NEAR(static_cast<double>(plan.ratings), n / 7.0, 1.0);
      size_t in_parts = 0;
      for (const auto& part : plan.parts) in_parts += part.size();
      EXPECT_EQ(in_parts, plan.ratings);
      EXPECT_EQ(plan.part_round.size(), plan.parts.size());
      for (size_t p = 1; p < plan.part_round.size(); ++p) {
        EXPECT_LE(plan.part_round[p - 1], plan.part_round[p]);  // rounds in order
      }
      for (size_t i = 0; i < plan.ratings; ++i) {
        const size_t r = static_cast<size_t>(plan.rating[i]);
        ASSERT_LT(r, n);
        ++seen[r];
        EXPECT_EQ(plan.user_keys[plan.user_slot[i]], original.user_ids[original.user_index[r]]);
        EXPECT_EQ(plan.item_keys[plan.item_slot[i]], original.item_ids[original.item_index[r]]);
      }
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(n)) << "epoch " << epoch;
  }
  const auto first = EpochBatches(&source, 0);
  EXPECT_EQ(EpochBatches(&same, 0), first);
  EXPECT_NE(EpochBatches(&source, 1), first);
}

// The distinct users of each batch of an epoch, summed: pulls of REMOTE user rows.
size_t UserPulls(BatchSource* source, int epoch, std::vector<int>* seen) {
  source->StartEpoch(epoch);
  BatchPlan plan;
  size_t pulls = 0;
  for (size_t b = 0; b < static_cast<size_t>(source->batches_per_epoch()); ++b) {
    source->Plan(b, &plan, false);
    pulls += plan.user_keys.size();
    for (size_t i = 0; i < plan.ratings; ++i) ++(*seen)[static_cast<size_t>(plan.rating[i])];
  }
  return pulls;
}

TEST(TileGridTest, UserBlockOrderPullsAUserInAboutOneBatchPerEpoch) {
  const size_t n = 6000, users = 600, batches = 6;  // 10 ratings a user, 1000 a batch
  config::TrainingConfig rounds = Tiled(1);
  rounds.set_tile_order(config::TrainingConfig::TILE_ROUNDS);
  EXPECT_FALSE(BatchSource::VisitsUserBlocks(rounds, true));
  config::TrainingConfig automatic = Tiled(1);
  EXPECT_TRUE(BatchSource::VisitsUserBlocks(automatic, true));
  EXPECT_FALSE(BatchSource::VisitsUserBlocks(automatic, false));
  for (const int width : {1, 2}) {
    config::TrainingConfig by_blocks = Tiled(1);
    by_blocks.set_tile_user_blocks(width);
    data::RatingsShard shard = Shard(n, users), again = Shard(n, users);
    BatchSource source(by_blocks, 0, &shard, batches, /*remote_users=*/true);
    BatchSource same(by_blocks, 0, &again, batches, /*remote_users=*/true);
    ASSERT_EQ(source.tiles().user_blocks(), batches * static_cast<size_t>(width));
    ASSERT_EQ(source.tiles().item_blocks(), 5u);
    for (int epoch = 0; epoch < 3; ++epoch) {
      std::vector<int> seen(n, 0);
      const size_t pulls = UserPulls(&source, epoch, &seen);
      EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(n)) << epoch;
      // A batch is one group of user blocks: every user in exactly one batch.
      EXPECT_EQ(pulls, users) << "width " << width << " epoch " << epoch;
    }
    EXPECT_EQ(EpochBatches(&source, 1), EpochBatches(&same, 1));
    EXPECT_NE(EpochBatches(&source, 1), EpochBatches(&source, 2));
  }
  // More batches than the ratings allow blocks for (one per 64 x 5 tiles' worth): batches
  // are then runs of n / batches ratings, still every rating once.
  {
    config::TrainingConfig by_blocks = Tiled(1);
    data::RatingsShard shard = Shard(n, users);
    BatchSource source(by_blocks, 0, &shard, 40, /*remote_users=*/true);
    EXPECT_EQ(source.tiles().user_blocks(), n / (64 * 5));
    std::vector<int> seen(n, 0);
    UserPulls(&source, 0, &seen);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(n));
  }
  // The rounds order spreads a user's tiles over the epoch: pulled in several batches
  // (this shard's users have their 10 ratings in few item blocks: 1.6 batches each).
  data::RatingsShard shard = Shard(n, users);
  BatchSource spread(rounds, 0, &shard, batches, /*remote_users=*/true);
  std::vector<int> seen(n, 0);
  EXPECT_GT(UserPulls(&spread, 0, &seen), users * 3 / 2);
}

TEST(TileGridTest, ComputeThreadsMakeAtLeastThatManyBlocks) {
  data::RatingsShard shard = Shard(400);
  BatchSource source(Tiled(1), 0, &shard, 1);
  source.StartEpoch(0);
  BatchPlan plan;
  source.Plan(0, &plan, true);
  EXPECT_EQ(plan.parts.size(), 25u);  // 50 items / 10: a 5 x 5 grid, one batch
  data::RatingsShard wide = Shard(400);
  config::TrainingConfig training = Tiled(8);
  training.set_tile_item_rows(1000);
  BatchSource threaded(training, 0, &wide, 1);
  threaded.StartEpoch(0);
  threaded.Plan(0, &plan, true);
  // An 8 x 8 grid although one item block would hold every item: eight rounds.
  EXPECT_GT(plan.parts.size(), 25u);
  EXPECT_EQ(*std::max_element(plan.part_round.begin(), plan.part_round.end()), 7u);
}

}  // namespace
}  // namespace psrec::train
