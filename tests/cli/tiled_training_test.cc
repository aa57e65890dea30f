// training.rating_order BY_TILE end to end (psrec sim): DELTAS with LOCAL users trains the
// planted small job as well as BY_USER does, and training.compute_threads changes nothing
// but the speed: 1 and 3 threads give the same epochs bit for bit (tiles of a round share
// no row, errors are summed in tile order). REMOTE users too, whose tiles are visited user
// block by user block (training.tile_order AUTO), and train as well as BY_USER.
#include <gtest/gtest.h>

#include <cstdio>
#include <utility>

#include "tests/cli/small_job.h"

namespace psrec::cli {
namespace {

config::JobConfig TiledJob(config::RatingOrder order, int threads,
                           config::TableConfig::Placement users, int user_blocks = 1) {
  config::JobConfig job = SmallJob(1, 1);
  job.mutable_training()->set_update_mode(config::DELTAS);
  job.mutable_training()->set_rating_order(order);
  job.mutable_training()->set_batch_size(4096);
  job.mutable_training()->set_tile_item_rows(40);  // 300 items: an 8 x 8 grid
  job.mutable_training()->set_compute_threads(threads);
  job.mutable_training()->set_tile_user_blocks(user_blocks);
  models::MutableTableConfig(&job, "user")->set_placement(users);
  return job;
}

TEST(TiledTrainingTest, ByTileTrainsAsWellAsByUser) {
  Result<SimulationResult> by_user = RunJob(TiledJob(config::BY_USER, 1, config::TableConfig::LOCAL));
  ASSERT_TRUE(by_user.ok()) << by_user.status().message();
  Result<SimulationResult> tiled = RunJob(TiledJob(config::BY_TILE, 1, config::TableConfig::LOCAL));
  ASSERT_TRUE(tiled.ok()) << tiled.status().message();
  const double user_rmse = by_user->history.back().test_rmse;
  const double tile_rmse = tiled->history.back().test_rmse;
  std::printf("small job, DELTAS, LOCAL users, 12 epochs: test RMSE BY_USER %.4f, BY_TILE %.4f\n",
              user_rmse, tile_rmse);
  EXPECT_LE(tile_rmse, user_rmse + 0.01);
  EXPECT_LT(tile_rmse, 0.45);  // noise floor 0.3; an untrained model is above 0.6
}

// REMOTE users: tile_order AUTO visits the tiles user block by user block (a user row
// pulled about once per epoch); it trains as well as BY_USER, with 1 or 2 user blocks per
// batch, and as well as the rounds order.
TEST(TiledTrainingTest, ByTileWithRemoteUsersTrainsAsWellAsByUser) {
  const auto remote = config::TableConfig::REMOTE;
  Result<SimulationResult> by_user = RunJob(TiledJob(config::BY_USER, 1, remote));
  ASSERT_TRUE(by_user.ok()) << by_user.status().message();
  const double user_rmse = by_user->history.back().test_rmse;
  for (const int user_blocks : {1, 2}) {
    Result<SimulationResult> tiled = RunJob(TiledJob(config::BY_TILE, 1, remote, user_blocks));
    ASSERT_TRUE(tiled.ok()) << tiled.status().message();
    const double tile_rmse = tiled->history.back().test_rmse;
    std::printf("small job, DELTAS, REMOTE users: test RMSE BY_USER %.4f, BY_TILE (user "
                "blocks, %d a batch) %.4f\n", user_rmse, user_blocks, tile_rmse);
    EXPECT_LE(tile_rmse, user_rmse + 0.01);
  }
}

TEST(TiledTrainingTest, ComputeThreadsGiveTheSameEpochs) {
  for (auto users : {config::TableConfig::LOCAL, config::TableConfig::REMOTE}) {
    Result<SimulationResult> one = RunJob(TiledJob(config::BY_TILE, 1, users));
    ASSERT_TRUE(one.ok()) << one.status().message();
    Result<SimulationResult> three = RunJob(TiledJob(config::BY_TILE, 3, users));
    ASSERT_TRUE(three.ok()) << three.status().message();
    ExpectSameEpochs(one->history, three->history);
  }
  // The user-blocks order (LOCAL users asked for it, REMOTE ones get it by AUTO) with 2 user
  // blocks a batch: rounds of two tiles stepped at once.
  for (auto [order, users] :
       {std::pair(config::TrainingConfig::TILE_USER_BLOCKS, config::TableConfig::LOCAL),
        std::pair(config::TrainingConfig::TILE_ORDER_AUTO, config::TableConfig::REMOTE)}) {
    config::JobConfig single = TiledJob(config::BY_TILE, 1, users, 2);
    config::JobConfig threaded = TiledJob(config::BY_TILE, 2, users, 2);
    single.mutable_training()->set_tile_order(order);
    threaded.mutable_training()->set_tile_order(order);
    Result<SimulationResult> one = RunJob(single);
    ASSERT_TRUE(one.ok()) << one.status().message();
    Result<SimulationResult> two = RunJob(threaded);
    ASSERT_TRUE(two.ok()) << two.status().message();
    ExpectSameEpochs(one->history, two->history);
  }
}

TEST(TiledTrainingTest, ComputeThreadsNeedTiledDeltas) {
  config::JobConfig job = TiledJob(config::BY_USER, 2, config::TableConfig::LOCAL);
  Status status = ValidateJobConfig(job);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("training.compute_threads"), std::string::npos);
  job.mutable_training()->set_rating_order(config::BY_TILE);
  EXPECT_TRUE(ValidateJobConfig(job).ok()) << ValidateJobConfig(job).message();
  job.mutable_model()->set_type(config::ModelConfig::NEUMF);
  EXPECT_FALSE(ValidateJobConfig(job).ok());
}

}  // namespace
}  // namespace psrec::cli
